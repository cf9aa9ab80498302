//! Making jobs. A job, its tasks, its first stage run and its first event
//! are one statement; jobs asked for at the same moment (concurrent
//! requests) go together in one statement, through a [`Creator`]. A tenant
//! with limits (jobs in flight, a priority allowance) is admitted first,
//! in the same transaction, under its creation lock; a job that reserves
//! credits goes alone (its reservation may refuse it).

use std::collections::{HashMap, HashSet};

use deadpool_postgres::GenericClient;
use serde::Serialize;
use voxline_batch::Batcher;
use voxline_core::state::EventKind;
use voxline_core::{
    Credits, Dispatch, JobId, JobKind, JobOptions, Priority, Stage, StageRunId, StageRunStatus,
    TaskId, TaskStatus, TenantId, UploadId, task_stages,
};

use voxline_core::script::Script;

use crate::error::CreateJobError;
use crate::pool::{row, rows};
use crate::rows::Job;
use crate::{Db, DbError, credits};

/// What a client asked for, already validated.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Chosen by the caller: the existing frontend learns its job's id
    /// before the job exists (from its upload URLs).
    pub id: JobId,
    pub tenant_id: TenantId,
    pub kind: JobKind,
    pub source_upload_id: UploadId,
    pub background_upload_id: Option<UploadId>,
    pub source_language: String,
    pub target_languages: Vec<String>,
    pub options: JobOptions,
    pub publish: bool,
    pub duration: f64,
    pub priority: Priority,
    pub idempotency_key: Option<String>,
    /// A digest of the request, so a reused idempotency key with a different
    /// request is refused instead of silently answering the old job.
    pub request_hash: String,
    pub max_attempts: u32,
    /// Refuse the job when the tenant already has this many in flight.
    pub max_in_flight: Option<i64>,
    /// The price of each task's language, when credits are on: the job
    /// reserves their sum or is refused.
    pub prices: Option<Vec<(String, Credits)>>,
    /// The W3C traceparent of the creating request's span: every stage's
    /// span becomes its child. Empty for none.
    pub traceparent: String,
    /// The lines the client gave (`voxline_core::script`), kept with the
    /// job for the transcription stage to take instead of hearing them.
    pub script: Option<Script>,
}

impl NewJob {
    /// Whether making it must first look at its tenant (the in-flight
    /// limit, the priority allowance, the balance) under the tenant's lock.
    fn needs_admission(&self) -> bool {
        self.max_in_flight.is_some() || self.prices.is_some() || self.priority.level() > 0
    }

    /// The languages it has a task for: the targets, or the source for a transcript.
    fn task_languages(&self) -> Vec<String> {
        match self.kind {
            JobKind::Transcribe => vec![self.source_language.clone()],
            _ => self.target_languages.clone(),
        }
    }
}

/// The result of a creation call.
#[derive(Debug)]
pub struct Created {
    pub job: Job,
    /// False when an earlier request with the same idempotency key made it.
    pub created: bool,
    pub dispatch: Vec<Dispatch>,
}

type Answer = Result<Created, CreateJobError>;

/// Makes jobs, those asked for at the same moment in one statement. Cheap
/// to clone; one per process that makes jobs at a rate (the gateway).
#[derive(Clone)]
pub struct Creator {
    db: Db,
    batches: Batcher<NewJob, Answer>,
}

impl Creator {
    /// Must be made inside the Tokio runtime.
    pub fn new(db: Db) -> Self {
        let batches = {
            let db = db.clone();
            Batcher::spawn(64, 1, move |batch: Vec<NewJob>| {
                let db = db.clone();
                async move { create_batch(&db, batch).await }
            })
        };
        Self { db, batches }
    }

    /// Makes `new` (a repeated idempotency key answers the first job).
    pub async fn create(&self, new: &NewJob) -> Answer {
        if new.prices.is_some() {
            return create(&self.db, new).await;
        }
        self.batches.submit(new.clone()).await.unwrap_or_else(|| {
            Err(DbError::Corrupt("the creation batch was dropped".into()).into())
        })
    }
}

/// Makes one job on its own (its own statement or transaction).
pub async fn create(db: &Db, new: &NewJob) -> Answer {
    create_batch(db, vec![new.clone()])
        .await
        .pop()
        .unwrap_or_else(|| Err(DbError::Corrupt("no answer for the job".into()).into()))
}

/// Makes a batch of jobs: one statement, in a transaction with the
/// tenants' admission when any job needs it. Answers one result per job,
/// in order.
async fn create_batch(db: &Db, batch: Vec<NewJob>) -> Vec<Answer> {
    match try_batch(db, &batch).await {
        Ok(answers) => answers,
        Err(e) => {
            let e = std::sync::Arc::new(e);
            batch
                .iter()
                .map(|_| Err(DbError::Shared(e.clone()).into()))
                .collect()
        }
    }
}

async fn try_batch(db: &Db, batch: &[NewJob]) -> Result<Vec<Answer>, DbError> {
    let mut client = db.client().await?;
    if !batch.iter().any(NewJob::needs_admission) {
        let made = insert(&client, batch).await?;
        return answer(&client, batch, made, HashMap::new()).await;
    }
    let tx = client.transaction().await?;
    let tenants: Vec<TenantId> = batch.iter().map(|j| j.tenant_id).collect();
    rows(&tx, &query!("jobs/lock_tenants"), &[&tenants]).await?;
    let mut load: HashMap<TenantId, (i64, Priority)> = HashMap::new();
    for r in rows(&tx, &query!("jobs/admit_many"), &[&tenants]).await? {
        let allowance: Priority = r.try_get("max_priority")?;
        load.insert(
            r.try_get("tenant_id")?,
            (r.try_get("in_flight")?, allowance),
        );
    }
    // A repeated request is answered the job it made, whatever the limits.
    let (key_tenants, keys): (Vec<TenantId>, Vec<&str>) = batch
        .iter()
        .filter_map(|j| Some((j.tenant_id, j.idempotency_key.as_deref()?)))
        .unzip();
    let mut used = HashSet::new();
    for r in rows(&tx, &query!("jobs/used_keys"), &[&key_tenants, &keys]).await? {
        let key: String = r.try_get("idempotency_key")?;
        used.insert((r.try_get::<_, TenantId>("tenant_id")?, key));
    }
    // Each job is admitted against its tenant's jobs in flight, those
    // admitted before it in this batch included.
    let mut refused: HashMap<usize, CreateJobError> = HashMap::new();
    let mut admitted = Vec::new();
    for (i, new) in batch.iter().enumerate() {
        if let Some(key) = &new.idempotency_key
            && used.contains(&(new.tenant_id, key.clone()))
        {
            continue;
        }
        let (in_flight, allowance) = load.get(&new.tenant_id).copied().unwrap_or_default();
        if let Some(limit) = new.max_in_flight
            && in_flight >= limit
        {
            refused.insert(i, CreateJobError::TooManyInFlight { in_flight, limit });
            continue;
        }
        if new.priority.level() > 0 && !new.priority.within(allowance) {
            refused.insert(
                i,
                CreateJobError::PriorityNotAllowed {
                    asked: new.priority,
                    allowed: allowance,
                },
            );
            continue;
        }
        if let Some(l) = load.get_mut(&new.tenant_id) {
            l.0 += 1;
        }
        admitted.push(new.clone());
    }
    let made = insert(&tx, &admitted).await?;
    let mut answers = answer(&tx, batch, made, refused).await?;
    for (new, answer) in batch.iter().zip(answers.iter_mut()) {
        let made_here = matches!(answer, Ok(c) if c.created);
        if made_here
            && new.prices.is_some()
            && let Err((needed, available)) = credits::reserve(&tx, new.tenant_id, new.id).await?
        {
            // Priced jobs go alone: refusing this one refuses the transaction.
            return Ok(vec![Err(CreateJobError::InsufficientCredits {
                needed,
                available,
            })]);
        }
    }
    tx.commit().await?;
    Ok(answers)
}

/// Each job's answer: made by this batch, refused, or made by an earlier
/// request with the same idempotency key (or refused for reusing it).
async fn answer(
    client: &impl GenericClient,
    batch: &[NewJob],
    mut made: HashMap<JobId, Created>,
    mut refused: HashMap<usize, CreateJobError>,
) -> Result<Vec<Answer>, DbError> {
    let mut out = Vec::with_capacity(batch.len());
    for (i, new) in batch.iter().enumerate() {
        out.push(match (refused.remove(&i), made.remove(&new.id)) {
            (Some(refusal), _) => Err(refusal),
            (None, Some(created)) => Ok(created),
            (None, None) => earlier(client, new).await,
        });
    }
    Ok(out)
}

#[derive(Serialize)]
struct Doc<'a> {
    task_status: TaskStatus,
    run_status: StageRunStatus,
    event: EventKind,
    jobs: Vec<JobIn<'a>>,
    tasks: Vec<TaskIn>,
    runs: Vec<RunIn<'a>>,
}

#[derive(Serialize)]
struct JobIn<'a> {
    id: JobId,
    tenant_id: TenantId,
    kind: JobKind,
    source_upload_id: UploadId,
    background_upload_id: Option<UploadId>,
    source_language: &'a str,
    target_languages: &'a [String],
    options: &'a JobOptions,
    publish: bool,
    idempotency_key: Option<&'a str>,
    request_hash: &'a str,
    duration_s: f64,
    traceparent: &'a str,
    priority: Priority,
    tasks: usize,
    script: Option<&'a Script>,
}

#[derive(Serialize)]
struct TaskIn {
    id: TaskId,
    job_id: JobId,
    language: String,
    stages: Vec<Stage>,
    message: String,
    credits: Option<i64>,
}

#[derive(Serialize)]
struct RunIn<'a> {
    id: StageRunId,
    job_id: JobId,
    language: &'a str,
    stage: Stage,
    max_attempts: u32,
}

/// The statement that makes jobs; a job whose idempotency key was taken is
/// not among those answered.
async fn insert(
    client: &impl GenericClient,
    batch: &[NewJob],
) -> Result<HashMap<JobId, Created>, DbError> {
    if batch.is_empty() {
        return Ok(HashMap::new());
    }
    let mut doc = Doc {
        task_status: TaskStatus::Pending,
        run_status: StageRunStatus::Queued,
        event: EventKind::JobCreated,
        jobs: Vec::new(),
        tasks: Vec::new(),
        runs: Vec::new(),
    };
    let mut first_runs = HashMap::new();
    for new in batch {
        let stages = task_stages(new.kind, new.publish);
        let languages = new.task_languages();
        for language in &languages {
            let credits = new.prices.as_ref().map(|prices| {
                prices
                    .iter()
                    .find(|(p, _)| p == language)
                    .map_or(0, |(_, c)| c.0)
            });
            doc.tasks.push(TaskIn {
                id: TaskId::new(),
                job_id: new.id,
                language: language.clone(),
                stages: stages.clone(),
                message: format!("waiting to {}", stages[0]),
                credits,
            });
        }
        let run = StageRunId::new();
        first_runs.insert(new.id, (run, stages[0]));
        doc.runs.push(RunIn {
            id: run,
            job_id: new.id,
            language: &new.source_language,
            stage: stages[0],
            max_attempts: new.max_attempts,
        });
        doc.jobs.push(JobIn {
            id: new.id,
            tenant_id: new.tenant_id,
            kind: new.kind,
            source_upload_id: new.source_upload_id,
            background_upload_id: new.background_upload_id,
            source_language: &new.source_language,
            target_languages: &new.target_languages,
            options: &new.options,
            publish: new.publish,
            idempotency_key: new.idempotency_key.as_deref(),
            request_hash: &new.request_hash,
            duration_s: new.duration,
            traceparent: &new.traceparent,
            priority: new.priority,
            tasks: languages.len(),
            script: new.script.as_ref(),
        });
    }
    let doc = serde_json::to_value(&doc).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let mut made = HashMap::new();
    for r in rows(client, &query!("jobs/create_many"), &[&doc]).await? {
        let job = crate::rows::job(&r)?;
        let (run, stage) = first_runs[&job.id];
        let dispatch = Dispatch {
            run_id: run,
            stage,
            attempt: 0,
            tenant: job.tenant_id,
            priority: job.priority,
            not_before: job.created_at,
            since: job.created_at,
            traceparent: job.traceparent.clone(),
        };
        made.insert(
            job.id,
            Created {
                job,
                created: true,
                dispatch: vec![dispatch],
            },
        );
    }
    Ok(made)
}

/// The job an earlier request with `new`'s idempotency key made, if that
/// request was the same.
async fn earlier(client: &impl GenericClient, new: &NewJob) -> Answer {
    let r = row(
        client,
        &query!("jobs/by_idempotency_key"),
        &[&new.tenant_id, &new.idempotency_key],
    )
    .await?
    .ok_or(DbError::NotFound)?;
    let hash: Option<String> = r.try_get("request_hash").map_err(DbError::from)?;
    if hash.as_deref() != Some(new.request_hash.as_str()) {
        return Err(CreateJobError::IdempotencyKeyReused);
    }
    Ok(Created {
        job: crate::rows::job(&r)?,
        created: false,
        dispatch: vec![],
    })
}

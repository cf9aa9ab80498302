//! The security suite: forged, expired, wrong-audience, `alg: none` and
//! wrong-algorithm tokens; JWKS keys and their rotation; the development
//! token; API keys created, listed and revoked over the API; another
//! tenant's resources answered 404 on every route; rate limits; security
//! headers and CORS; webhook URLs that lead into the private network (SSRF),
//! directly, through DNS, or through a redirect.

use reqwest::Method;
use serde_json::{Value, json};
use voxline_testkit::auth::{HS_SECRET, Issuer, JwksServer, hs256_with, user_claims};
use voxline_testkit::{TestEnv, TestSystem, sample_clip_saying, spawn_system};

fn assert_refused(status: u16, body: &Value, hint: &str) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(hint), "`{hint}` in: {message}");
}

async fn jobs_as(sys: &TestSystem, token: &str) -> anyhow::Result<(u16, Value)> {
    let (s, b, _) = sys.call(Method::GET, "/v1/jobs", Some(token), None).await?;
    Ok((s, b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tokens_are_verified_and_bad_ones_refused() -> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    let issuer = Issuer::new(env.dir.path())?;
    let jwks = JwksServer::start(issuer.jwks("rsa-1", "ec-1")?)?;
    env.settings.auth.jwt_secret = voxline_config::Secret::new(HS_SECRET);
    env.settings.auth.jwks_url = jwks.url.clone();
    env.settings.auth.jwks_min_refresh_seconds = 0;
    let sys = spawn_system(env).await?;

    // Good tokens of each scheme; the tenant is created on first sight.
    let claims = user_claims("user-7");
    for token in [
        issuer.hs256(&claims),
        issuer.rs256("rsa-1", &claims),
        issuer.es256("ec-1", &claims),
    ] {
        let (s, b) = jobs_as(&sys, &token).await?;
        assert_eq!(s, 200, "{b}");
    }
    let tenants: i64 = sys
        .env
        .db
        .client()
        .await?
        .query_one(
            "SELECT count(*) FROM tenants WHERE name = 'jwt:user-7'",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(tenants, 1, "one tenant, whichever scheme signed");

    // Bad tokens, each refused with its reason.
    let now = chrono::Utc::now().timestamp();
    let mut expired = user_claims("user-7");
    expired["exp"] = json!(now - 600);
    let mut early = user_claims("user-7");
    early["nbf"] = json!(now + 600);
    let mut wrong_audience = user_claims("user-7");
    wrong_audience["aud"] = json!("service_role");
    let none = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(claims.to_string())
        )
    };
    let cases = [
        (issuer.hs256(&expired), "expired"),
        (issuer.hs256(&early), "not valid yet"),
        (issuer.hs256(&wrong_audience), "audience"),
        (
            hs256_with(b"not-the-secret-but-just-as-long-as-it", &claims),
            "signature",
        ),
        (none, "`none`"),
        // Algorithm confusion: HS256 keyed with the RSA public key.
        (hs256_with(&issuer.rsa_public_pem, &claims), "signature"),
        // An RSA signature presented under the EC key's id.
        (issuer.rs256("ec-1", &claims), "not accepted"),
        (issuer.rs256("rsa-unknown", &claims), "does not know"),
        (
            "vx_0123456789abcdef0123456789abcdef".into(),
            "unknown or revoked",
        ),
        ("dev-token".into(), "development auth"),
        ("garbage".into(), "neither"),
    ];
    for (token, hint) in &cases {
        let (s, b) = jobs_as(&sys, token).await?;
        assert_refused(s, &b, hint);
    }
    let (s, b, _) = sys.call(Method::GET, "/v1/jobs", None, None).await?;
    assert_refused(s, &b, "Authorization");

    // Key rotation: a new key is fetched when a token names it.
    let fetched = jwks.fetches();
    std::fs::create_dir_all(sys.env.path("rotated"))?;
    let rotated = Issuer::new(&sys.env.path("rotated"))?;
    jwks.publish(rotated.jwks("rsa-2", "ec-2")?);
    let (s, b) = jobs_as(&sys, &rotated.rs256("rsa-2", &claims)).await?;
    assert_eq!(s, 200, "{b}");
    assert!(
        jwks.fetches() > fetched,
        "the unknown kid made the gateway fetch again"
    );
    let (s, b) = jobs_as(&sys, &issuer.rs256("rsa-1", &claims)).await?;
    assert_refused(s, &b, "does not know");
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_development_token_works_only_when_enabled() -> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    env.settings.auth.dev_token = true;
    let sys = spawn_system(env).await?;
    let (s, b) = jobs_as(&sys, "dev-token").await?;
    assert_eq!(s, 200, "{b}");
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_keys_are_created_listed_and_revoked() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let (s, created) = sys.post("/v1/keys", &json!({"name": "ci"})).await?;
    assert_eq!(s, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("vx_"));
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));
    let (s, _) = jobs_as(&sys, &secret).await?;
    assert_eq!(s, 200);

    let (s, list) = sys.get("/v1/keys").await?;
    assert_eq!(s, 200);
    let listed: Vec<&Value> = list["keys"].as_array().unwrap().iter().collect();
    assert_eq!(
        listed.len(),
        2,
        "the system's own key and the new one: {list}"
    );
    assert!(
        !list.to_string().contains(&secret),
        "secrets are shown once"
    );
    let mine = listed.iter().find(|k| k["id"] == created["id"]).unwrap();
    assert!(mine["last_used_at"].is_string(), "last use is kept: {mine}");

    // Another tenant cannot see or revoke it.
    let other = sys.key_for("tenant-b").await?;
    let path = format!("/v1/keys/{}", created["id"].as_str().unwrap());
    let (s, _, _) = sys.call(Method::DELETE, &path, Some(&other), None).await?;
    assert_eq!(s, 404);
    let (s, _) = jobs_as(&sys, &secret).await?;
    assert_eq!(s, 200, "still valid");

    let (s, _, _) = sys
        .call(Method::DELETE, &path, Some(&sys.api_key), None)
        .await?;
    assert_eq!(s, 204);
    let (s, b) = jobs_as(&sys, &secret).await?;
    assert_refused(s, &b, "revoked");
    // A refused key is answered 401 whatever the body holds: the key is
    // checked before the body is read, never raced against it.
    for _ in 0..10 {
        let (s, b, _) = sys
            .call(Method::POST, "/v1/jobs", Some(&secret), Some(&json!({})))
            .await?;
        assert_refused(s, &b, "revoked");
    }
    let (s, b) = sys.post("/v1/keys", &json!({"name": ""})).await?;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("invalid_key_name"))
    );
    sys.stop().await
}

/// Revokes the key with `secret` in the database, as another gateway would.
async fn revoke_elsewhere(sys: &TestSystem, secret: &str) -> anyhow::Result<()> {
    let prefix = voxline_db::api_keys::prefix_of(secret);
    let n = sys
        .env
        .db
        .client()
        .await?
        .execute(
            "UPDATE api_keys SET revoked_at = now() WHERE prefix = $1",
            &[&prefix],
        )
        .await?;
    anyhow::ensure!(n == 1, "no key with prefix {prefix}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_revoked_elsewhere_stops_working_within_moments() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    // Trusted for a minute once checked (auth.key_cache_seconds)...
    let secret = sys.key_for("acme").await?;
    assert_eq!(jobs_as(&sys, &secret).await?.0, 200);
    assert_eq!(jobs_as(&sys, &secret).await?.0, 200);
    // ...but forgotten when PostgreSQL announces its revocation.
    revoke_elsewhere(&sys, &secret).await?;
    let started = std::time::Instant::now();
    loop {
        let (s, b) = jobs_as(&sys, &secret).await?;
        if s == 401 {
            assert_refused(s, &b, "revoked");
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "a key revoked elsewhere still works after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    eprintln!("refused {:?} after its revocation", started.elapsed());

    // While the gateway cannot hear announcements, it trusts nothing kept.
    let secret = sys.key_for("acme").await?;
    assert_eq!(jobs_as(&sys, &secret).await?.0, 200);
    let cut: i64 = sys
        .env
        .db
        .client()
        .await?
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name LIKE '% listening'",
            &[],
        )
        .await?
        .get(0);
    assert!(cut >= 1, "the gateway listens for key changes");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    revoke_elsewhere(&sys, &secret).await?;
    let (s, b) = jobs_as(&sys, &secret).await?;
    assert_refused(s, &b, "revoked"); // while the gateway was not listening
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_tenants_resources_are_not_found_anywhere() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let clip = sample_clip_saying(&sys.env.path("media"), Some("Hello there."))?;
    let (_, upload) = sys.upload(&clip).await?;
    let upload_id = upload["id"].as_str().unwrap();
    let (s, job) = sys
        .post(
            "/v1/jobs",
            &json!({"kind": "dub", "source_upload_id": upload_id, "target_languages": ["es"]}),
        )
        .await?;
    assert_eq!(s, 202, "{job}");
    let id = job["id"].as_str().unwrap();
    let intruder = sys.key_for("intruder").await?;

    let routes = [
        (Method::GET, format!("/v1/jobs/{id}")),
        (Method::POST, format!("/v1/jobs/{id}/cancel")),
        (Method::POST, format!("/v1/jobs/{id}/retry")),
        (Method::GET, format!("/v1/jobs/{id}/events")),
        (Method::GET, format!("/api/jobs/{id}")),
        (Method::DELETE, format!("/api/jobs/{id}")),
    ];
    for (method, path) in routes {
        let (s, b, _) = sys
            .call(method.clone(), &path, Some(&intruder), None)
            .await?;
        assert_eq!(s, 404, "{method} {path}: {b}");
    }
    let (s, b) = sys
        .call(
            Method::POST,
            "/v1/jobs",
            Some(&intruder),
            Some(
                &json!({"kind": "dub", "source_upload_id": upload_id, "target_languages": ["es"]}),
            ),
        )
        .await
        .map(|(s, b, _)| (s, b))?;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("unknown_upload"))
    );
    for path in ["/v1/jobs", "/api/jobs", "/api/downloads"] {
        let (s, b, _) = sys.call(Method::GET, path, Some(&intruder), None).await?;
        assert_eq!(s, 200);
        assert!(
            !b.to_string().contains(id),
            "{path} lists nothing of another tenant: {b}"
        );
    }
    // The owner still sees it.
    let (s, _) = sys.get(&format!("/v1/jobs/{id}")).await?;
    assert_eq!(s, 200);
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limits_answer_429_with_retry_after() -> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    env.settings.rate_limits.enabled = true;
    env.settings.rate_limits.read.per_tenant_per_minute = 5;
    env.settings.rate_limits.read.per_ip_per_minute = 1000;
    env.settings.rate_limits.write.per_ip_per_minute = 3;
    env.settings.rate_limits.upload.per_ip_per_minute = 1;
    let sys = spawn_system(env).await?;

    for _ in 0..5 {
        assert_eq!(sys.get("/v1/jobs").await?.0, 200);
    }
    let (s, b, headers) = sys
        .call(Method::GET, "/v1/jobs", Some(&sys.api_key), None)
        .await?;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "{b}"
    );
    let wait: u64 = headers["retry-after"].to_str()?.parse()?;
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    // Another tenant has its own budget.
    let other = sys.key_for("tenant-b").await?;
    assert_eq!(jobs_as(&sys, &other).await?.0, 200);

    // The per-address budget holds before authentication: bad tokens too.
    let mut statuses = vec![];
    for _ in 0..4 {
        let (s, _, _) = sys
            .call(
                Method::POST,
                "/v1/jobs",
                Some("vx_forged"),
                Some(&json!({})),
            )
            .await?;
        statuses.push(s);
    }
    assert_eq!(statuses, vec![401, 401, 401, 429]);
    // A request with no token at all is told so, even past the budget: it
    // costs no lookup, and "slow down" would hide that the key is missing.
    let (s, b, _) = sys
        .call(Method::POST, "/v1/jobs", None, Some(&json!({})))
        .await?;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{b}"
    );
    // Signed links carry no token and stay under the address's budget.
    let mut statuses = vec![];
    for _ in 0..2 {
        let (s, _, _) = sys
            .call(Method::PUT, "/v1/files?key=k&expires=1&sig=s", None, None)
            .await?;
        statuses.push(s);
    }
    assert_eq!(statuses, vec![403, 429]);
    // Under /api, the same refusal in the frontend's error shape.
    let (s, b, _) = sys
        .call(
            Method::POST,
            "/api/jobs/upload-urls",
            Some(&other),
            Some(&json!({})),
        )
        .await?;
    assert_eq!((s, b["error"].as_str()), (429, Some("rate_limited")), "{b}");
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_carry_security_headers_and_cors_only_for_allowed_origins() -> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    env.settings.server.cors_allowed_origins = vec!["https://app.example.com".into()];
    let sys = spawn_system(env).await?;
    let r = sys
        .http
        .get(sys.url("/v1/jobs"))
        .bearer_auth(&sys.api_key)
        .header("origin", "https://app.example.com")
        .send()
        .await?;
    let h = r.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h["content-security-policy"]
            .to_str()?
            .contains("default-src 'none'")
    );
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");

    let preflight = sys
        .http
        .request(Method::OPTIONS, sys.url("/api/jobs/upload-urls"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await?;
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let r = sys
        .http
        .get(sys.url("/v1/jobs"))
        .bearer_auth(&sys.api_key)
        .header("origin", "https://evil.example.net")
        .send()
        .await?;
    assert_eq!(
        r.status(),
        200,
        "no CORS grant, but no breakage for the server either"
    );
    assert!(r.headers().get("access-control-allow-origin").is_none());
    sys.stop().await
}

/// Redirects every request to `target` (what a hostile webhook endpoint
/// does to reach an internal address).
fn redirector(target: String) -> anyhow::Result<(String, actix_web::dev::ServerHandle)> {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        let target = target.clone();
        App::new().default_service(web::to(move || {
            let target = target.clone();
            async move {
                HttpResponse::Found()
                    .insert_header(("location", target))
                    .finish()
            }
        }))
    })
    .workers(1)
    .listen(listener)?
    .disable_signals()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok((format!("http://localhost:{port}/hook"), handle))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhook_urls_cannot_reach_the_private_network() -> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    env.settings.outbound.allow_private_networks = false;
    // `localhost` stands in for a public host; its redirect target does not.
    env.settings.outbound.allowed_hosts = vec!["localhost".into()];
    env.settings.runner.max_attempts = 2;
    let sys = spawn_system(env).await?;
    let clip = sample_clip_saying(&sys.env.path("media"), Some("Hello there."))?;
    let (_, upload) = sys.upload(&clip).await?;
    let job = |url: &str| {
        json!({"kind": "subtitle", "source_upload_id": upload["id"],
        "target_languages": ["es"], "options": {"webhook_url": url}})
    };

    for url in [
        "http://127.0.0.1:6379/",
        "http://[::1]:5432/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0:8080/",
        "http://127.1/hook",
    ] {
        let (s, b) = sys.post("/v1/jobs", &job(url)).await?;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (422, Some("webhook_url_not_allowed")),
            "{url}: {b}"
        );
    }
    let (s, b) = sys.post("/v1/jobs", &job("file:///etc/passwd")).await?;
    assert_eq!(s, 422, "{b}");

    // Allowed at creation, refused at the redirect into the private network.
    let inside = voxline_testkit::WebhookReceiver::start(vec![])?;
    let (url, redirect) = redirector(inside.url.clone())?;
    let (s, created) = sys.post("/v1/jobs", &job(&url)).await?;
    assert_eq!(s, 202, "{created}");
    let id = created["id"].as_str().unwrap();
    let done = sys
        .wait_for_job(id, std::time::Duration::from_secs(120))
        .await?;
    assert_eq!(done["status"], "failed", "{done:#}");
    assert!(
        inside.received().is_empty(),
        "the internal receiver was never reached"
    );
    let (_, log) = sys.get(&format!("/v1/jobs/{id}/deliveries")).await?;
    let attempts = log["deliveries"].as_array().unwrap();
    assert!(!attempts.is_empty(), "{log}");
    assert!(
        attempts.iter().all(|a| a["error"]
            .as_str()
            .is_some_and(|e| e.contains("redirect refused"))),
        "{log}"
    );
    redirect.stop(false).await;
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_calls_are_cut_off_but_streams_are_not() -> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    // No call can be answered in no time: every timed one is cut off.
    env.settings.server.request_timeout_seconds = 0;
    let sys = spawn_system(env).await?;
    let (s, b) = sys.get("/v1/jobs").await?;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (503, Some("timeout")),
        "{b}"
    );
    let (s, b) = sys.get("/api/jobs").await?;
    assert_eq!(
        (s, b["error"].as_str()),
        (503, Some("timeout")),
        "flat under /api: {b}"
    );
    let clip = sample_clip_saying(&sys.env.path("media"), Some("Hello there."))?;
    let (s, b) = sys.upload(&clip).await?;
    assert_eq!(s, 201, "uploads stream as long as their bytes flow: {b}");
    sys.stop().await
}

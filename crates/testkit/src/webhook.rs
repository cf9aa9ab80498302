//! A webhook receiver for tests: records every request and answers with the
//! statuses it is told to, in order (then 200).

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

/// One received delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Delivery {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<Delivery>,
    statuses: Vec<u16>,
}

pub struct WebhookReceiver {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
    server: actix_web::dev::ServerHandle,
}

impl WebhookReceiver {
    /// Starts on a free port; the first answers are `statuses`, then 200.
    pub fn start(statuses: Vec<u16>) -> anyhow::Result<Self> {
        Self::start_on("127.0.0.1:0".parse()?, statuses)
    }

    /// Like [`WebhookReceiver::start`], on a given address.
    pub fn start_on(address: std::net::SocketAddr, statuses: Vec<u16>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(address)?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let shared = Arc::new(Mutex::new(Shared {
            received: vec![],
            statuses,
        }));
        let data = web::Data::new(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            url,
            shared,
            server: handle,
        })
    }

    pub fn received(&self) -> Vec<Delivery> {
        self.shared.lock().unwrap().received.clone()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        let handle = self.server.clone();
        tokio::spawn(async move { handle.stop(false).await });
    }
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Arc<Mutex<Shared>>>,
) -> HttpResponse {
    let mut s = shared.lock().unwrap();
    s.received.push(Delivery {
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: body.to_vec(),
    });
    let status = if s.statuses.is_empty() {
        200
    } else {
        s.statuses.remove(0)
    };
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

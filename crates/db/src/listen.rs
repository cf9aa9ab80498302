//! PostgreSQL's notifications on a connection of their own (`LISTEN`): a
//! pooled connection cannot listen, since notifications reach only the
//! session that listens, for as long as it lives.

use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::{Db, DbError};

/// The payloads announced on one channel since [`Db::listen`] returned, in
/// commit order. `recv` answers `None` once the connection is gone: what
/// was announced after that is unknown, so a reader that keeps state by
/// these must drop it and listen again.
pub struct Notifications {
    payloads: mpsc::UnboundedReceiver<String>,
    /// The session that listens; dropping it ends the connection.
    _session: tokio_postgres::Client,
}

impl Notifications {
    /// The next payload, or `None` when the connection has ended.
    pub async fn recv(&mut self) -> Option<String> {
        self.payloads.recv().await
    }
}

impl Db {
    /// Opens a connection that listens on `channel` (its application name
    /// is the pool's followed by ` listening`). Returns once
    /// PostgreSQL has confirmed the `LISTEN`, so every notification
    /// committed after this returns is delivered.
    pub async fn listen(&self, channel: &str) -> Result<Notifications, DbError> {
        let mut config = self.config().clone();
        let name = format!(
            "{} listening",
            config.get_application_name().unwrap_or("voxline")
        );
        config.application_name(&name);
        let (client, mut connection) = config.connect(NoTls).await?;
        let (tx, payloads) = mpsc::unbounded_channel();
        let wanted = channel.to_owned();
        tokio::spawn(async move {
            // Driving the connection carries the client's own queries too.
            while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                match message {
                    Ok(AsyncMessage::Notification(n)) if n.channel() == wanted => {
                        if tx.send(n.payload().to_owned()).is_err() {
                            return; // nobody reads any more
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, channel = %wanted, "the listening connection failed");
                        return;
                    }
                }
            }
        });
        // Identifiers cannot be bound as parameters; quote it.
        let quoted = format!("\"{}\"", channel.replace('"', "\"\""));
        client.batch_execute(&format!("LISTEN {quoted}")).await?;
        Ok(Notifications {
            payloads,
            _session: client,
        })
    }
}

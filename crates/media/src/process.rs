//! Runs external programs (ffmpeg, engines) so that none outlives its caller:
//! each has a timeout, is killed when its future is dropped (a cancelled
//! stage drops it), and its stderr tail is kept for the error message.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::MediaError;

/// How much of a failed program's stderr an error message keeps.
const STDERR_TAIL: usize = 600;

/// What a finished program printed.
#[derive(Debug)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `cmd` to completion, feeding `stdin` if given. A non-zero exit is an
/// error carrying the end of stderr; exceeding `timeout` kills the program.
pub async fn run(
    mut cmd: Command,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<Output, MediaError> {
    let program = cmd.as_std().get_program().to_string_lossy().into_owned();
    cmd.kill_on_drop(true)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| MediaError::Spawn {
        program: program.clone(),
        source,
    })?;
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A program that exits before reading all input is judged by its exit status.
        let _ = pipe.write_all(bytes).await;
        drop(pipe);
    }
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(out) => out.map_err(|source| MediaError::Io {
            path: program.clone(),
            source,
        })?,
        Err(_) => {
            return Err(MediaError::Timeout {
                program,
                seconds: timeout.as_secs(),
            });
        }
    };
    if !out.status.success() {
        return Err(MediaError::Failed {
            program,
            status: out.status.to_string(),
            stderr_tail: tail(&out.stderr),
        });
    }
    Ok(Output {
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// The last few hundred characters of a program's stderr, on one line.
pub fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    let start = text
        .char_indices()
        .rev()
        .nth(STDERR_TAIL)
        .map_or(0, |(i, _)| i);
    text[start..].replace('\n', " | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failure_carries_stderr_tail() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo boom >&2; exit 3"]);
        let err = run(cmd, None, Duration::from_secs(5)).await.unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
    }

    #[tokio::test]
    async fn timeout_kills() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let err = run(cmd, None, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(matches!(err, MediaError::Timeout { .. }));
    }

    #[tokio::test]
    async fn stdin_reaches_the_program() {
        let mut cmd = Command::new("cat");
        cmd.arg("-");
        let out = run(cmd, Some(b"hola"), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(out.stdout, b"hola");
    }
}

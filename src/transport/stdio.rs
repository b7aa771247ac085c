//! stdio: JSON-RPC on stdin/stdout (logs go to stderr). The process owner is the operator.
//!
//! Every line passes the [`jsonrpc`](super::jsonrpc) screen before rmcp reads it, so a line rmcp
//! would drop or answer without an id gets its JSON-RPC error with the request's id. rmcp reads
//! and writes through in-process pipes; one writer puts its lines and the screen's answers on
//! stdout whole, one line at a time.

use rmcp::ServiceExt;
use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::jsonrpc::{self, INVALID_REQUEST, Verdict};
use super::{MAX_MESSAGE_BYTES, Shared};

const PIPE_BYTES: usize = 1 << 16;
/// Answers of the screen waiting to be written: a client that sends and never reads waits here.
const ANSWERS_WAITING: usize = 64;

pub async fn serve(shared: Shared) -> anyhow::Result<()> {
    serve_on(shared, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serve one client on any pair of byte streams (stdin/stdout in production).
pub async fn serve_on<R, W>(shared: Shared, input: R, output: W) -> anyhow::Result<()>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (to_rmcp, rmcp_in) = tokio::io::duplex(PIPE_BYTES);
    let (rmcp_out, from_rmcp) = tokio::io::duplex(PIPE_BYTES);
    let (answers, answered) = mpsc::channel(ANSWERS_WAITING);
    let reader = tokio::spawn(read_lines(BufReader::new(input), to_rmcp, answers));
    let writer = tokio::spawn(write_lines(BufReader::new(from_rmcp), answered, output));
    let running = shared.server().serve((rmcp_in, rmcp_out)).await?;
    running.waiting().await?;
    reader.abort();
    writer.await??;
    Ok(())
}

/// Read stdin line by line: well-formed lines go on to rmcp, the rest are answered here.
async fn read_lines<R, W>(
    mut input: R,
    mut to_rmcp: W,
    answers: mpsc::Sender<Value>,
) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut line = Vec::new();
    loop {
        line.clear();
        let (read, whole) = read_line(&mut input, &mut line).await?;
        if read == 0 {
            return Ok(()); // end of input: dropping the pipe ends rmcp's service
        }
        while line.last().is_some_and(|b| b.is_ascii_whitespace()) {
            line.pop();
        }
        if !whole {
            let id = jsonrpc::recover_id(&String::from_utf8_lossy(&line));
            let message =
                format!("Invalid request: a message may be at most {MAX_MESSAGE_BYTES} bytes");
            let _ = answers
                .send(jsonrpc::error(id, INVALID_REQUEST, &message))
                .await;
            continue;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match jsonrpc::screen(&line, false) {
            Verdict::Pass { .. } => {
                line.push(b'\n');
                to_rmcp.write_all(&line).await?;
            }
            Verdict::Answer(answer) => {
                let _ = answers.send(answer).await;
            }
            Verdict::Drop(why) => tracing::warn!(%why, "stdin line dropped"),
        }
    }
}

/// One line into `line` (without its newline), keeping at most [`MAX_MESSAGE_BYTES`] of it:
/// the bytes read, and whether the whole line was kept.
async fn read_line<R: AsyncBufRead + Unpin>(
    input: &mut R,
    line: &mut Vec<u8>,
) -> std::io::Result<(usize, bool)> {
    let mut read = 0;
    let mut whole = true;
    loop {
        let buf = input.fill_buf().await?;
        if buf.is_empty() {
            return Ok((read, whole));
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(end) => (&buf[..end], Some(end + 1)),
            None => (buf, None),
        };
        let room = MAX_MESSAGE_BYTES.saturating_sub(line.len());
        if chunk.len() > room {
            whole = false;
        }
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = done.unwrap_or(buf.len());
        input.consume(used);
        read += used;
        if done.is_some() {
            return Ok((read, whole));
        }
    }
}

/// Put rmcp's lines and the screen's answers on the output, each line whole.
async fn write_lines<R, W>(
    mut from_rmcp: R,
    mut answered: mpsc::Receiver<Value>,
    mut output: W,
) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut line = Vec::new();
    let mut rmcp_open = true;
    let mut answers_open = true;
    while rmcp_open || answers_open {
        tokio::select! {
            read = from_rmcp.read_until(b'\n', &mut line), if rmcp_open => {
                if read? == 0 {
                    rmcp_open = false;
                } else {
                    output.write_all(&line).await?;
                    line.clear();
                }
            }
            answer = answered.recv(), if answers_open => match answer {
                Some(answer) => {
                    let mut text = serde_json::to_vec(&answer).map_err(std::io::Error::other)?;
                    text.push(b'\n');
                    output.write_all(&text).await?;
                }
                None => answers_open = false,
            },
        }
        output.flush().await?;
    }
    Ok(())
}

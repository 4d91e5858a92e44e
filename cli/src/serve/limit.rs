//! `--max-connections`: at most N client connections at once. A connection
//! beyond the limit is closed as soon as it is accepted (the client sees
//! the connection refused and may retry); a permit is held for as long as
//! its connection is open.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming};

/// A connection holding one of the permits.
pub struct Limited {
    io: TcpStream,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Connected for Limited {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.io.connect_info()
    }
}

impl AsyncRead for Limited {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Limited {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The accepted connections, at most `max` open at once (None: no limit).
pub fn incoming(
    incoming: TcpIncoming,
    max: Option<usize>,
) -> impl Stream<Item = std::io::Result<Limited>> {
    let permits = max.map(|n| Arc::new(Semaphore::new(n)));
    incoming.filter_map(move |conn| {
        let permits = permits.clone();
        async move {
            let io = match conn {
                Ok(io) => io,
                Err(e) => return Some(Err(e)),
            };
            let permit = match &permits {
                None => None,
                Some(p) => match p.clone().try_acquire_owned() {
                    Ok(permit) => Some(permit),
                    Err(_) => {
                        tracing::warn!(
                            peer = ?io.peer_addr().ok(),
                            "connection refused: --max-connections reached"
                        );
                        return None;
                    }
                },
            };
            Some(Ok(Limited {
                io,
                _permit: permit,
            }))
        }
    })
}

//! A byte relay on loopback in front of the rehearsal's Graph endpoint that counts the write
//! requests reaching it: tests and benchmarks measure at the wire what the product sent
//! (single `PATCH /v1.0/users/…`, `POST /v1.0/$batch`), not what it says it sent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Write requests seen on the way to the sim.
#[derive(Debug, Default)]
pub struct WriteCounts {
    patches: AtomicU64,
    batches: AtomicU64,
}

impl WriteCounts {
    /// `PATCH /v1.0/users/…` requests.
    pub fn patches(&self) -> u64 {
        self.patches.load(Ordering::SeqCst)
    }

    /// `POST /v1.0/$batch` requests.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::SeqCst)
    }
}

/// Start a relay to `upstream` (`http://host:port`); its own `http://` address and the counts.
/// A request line starts a chunk read from the client: the client writes each request anew.
pub async fn counting_relay(upstream: &str) -> std::io::Result<(String, Arc<WriteCounts>)> {
    let upstream: SocketAddr = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let counts = Arc::new(WriteCounts::default());
    let counter = Arc::clone(&counts);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(up) = TcpStream::connect(upstream).await else {
                continue;
            };
            tokio::spawn(relay(client, up, Arc::clone(&counter)));
        }
    });
    Ok((url, counts))
}

async fn relay(client: TcpStream, up: TcpStream, counter: Arc<WriteCounts>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = up.into_split();
    let requests = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let chunk = buf.get(..n).unwrap_or_default();
            if chunk.starts_with(b"PATCH /v1.0/users/") {
                counter.patches.fetch_add(1, Ordering::SeqCst);
            }
            if chunk.starts_with(b"POST /v1.0/$batch ") {
                counter.batches.fetch_add(1, Ordering::SeqCst);
            }
            if uw.write_all(chunk).await.is_err() {
                return;
            }
        }
    };
    let answers = async move {
        let _ = tokio::io::copy(&mut ur, &mut cw).await;
    };
    tokio::select! {
        _ = requests => {}
        _ = answers => {}
    }
}

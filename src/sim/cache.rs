//! A small caching DNS forwarder for the rehearsal environment: it answers from its cache until
//! the TTL it stored runs out (counting the TTL down in its answers, as real resolvers do), so a
//! record changed at the authoritative server stays stale here for real.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// How long the forwarder waits for the upstream server before answering SERVFAIL.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

struct Entry {
    response: Message,
    stored: Instant,
    ttl: u32,
}

type Cache = Arc<Mutex<HashMap<(String, RecordType), Entry>>>;

/// A running caching forwarder on loopback (UDP).
pub struct CachingResolver {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl CachingResolver {
    /// Listen on an ephemeral loopback port and forward misses to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<CachingResolver> {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let addr = socket.local_addr()?;
        let cache: Cache = Arc::default();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                let query = buf[..len].to_vec();
                let socket = socket.clone();
                let cache = cache.clone();
                // One task per query: a slow upstream does not hold up cached answers.
                tokio::spawn(async move {
                    if let Some(reply) = answer(&query, upstream, &cache).await {
                        let _ = socket.send_to(&reply, peer).await;
                    }
                });
            }
        });
        Ok(CachingResolver { addr, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn shutdown(self) {
        self.task.abort();
    }
}

impl Drop for CachingResolver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(query: &[u8], upstream: SocketAddr, cache: &Cache) -> Option<Vec<u8>> {
    let msg = Message::from_vec(query).ok()?;
    let q = msg.queries.first()?.clone();
    let key = (
        q.name.to_ascii().trim_end_matches('.').to_ascii_lowercase(),
        q.query_type,
    );
    if let Some(reply) = from_cache(cache, &key, msg.metadata.id) {
        return Some(reply);
    }
    match forward(query, upstream).await {
        Some(bytes) => {
            let Ok(mut response) = Message::from_vec(&bytes) else {
                return Some(bytes);
            };
            // A recursive resolver's answer is never authoritative, and it offers recursion.
            response.metadata.authoritative = false;
            response.metadata.recursion_available = true;
            let reply = response.to_vec().ok();
            let ttl = cache_ttl(&response);
            if ttl > 0
                && let Ok(mut c) = cache.lock()
            {
                c.insert(
                    key,
                    Entry {
                        response,
                        stored: Instant::now(),
                        ttl,
                    },
                );
            }
            reply.or(Some(bytes))
        }
        None => {
            let mut fail = Message::error_msg(
                msg.metadata.id,
                msg.metadata.op_code,
                ResponseCode::ServFail,
            );
            fail.add_query(q);
            fail.to_vec().ok()
        }
    }
}

/// The cached response with TTLs reduced by the time it has been held; `None` once expired.
fn from_cache(cache: &Cache, key: &(String, RecordType), id: u16) -> Option<Vec<u8>> {
    let mut c = cache.lock().ok()?;
    let entry = c.get(key)?;
    let held = u32::try_from(entry.stored.elapsed().as_secs()).unwrap_or(u32::MAX);
    if held >= entry.ttl {
        c.remove(key);
        return None;
    }
    let mut reply = entry.response.clone();
    reply.metadata.id = id;
    reply.metadata.message_type = MessageType::Response;
    reply.metadata.authoritative = false;
    reply.metadata.recursion_available = true;
    for r in reply.answers.iter_mut().chain(reply.authorities.iter_mut()) {
        r.ttl = r.ttl.saturating_sub(held);
    }
    reply.to_vec().ok()
}

/// How long to keep a response: the smallest answer TTL, or for a negative answer the SOA's
/// negative TTL (RFC 2308); 0 means "do not cache" (failures, truncated replies).
fn cache_ttl(response: &Message) -> u32 {
    if response.metadata.truncation {
        return 0;
    }
    match response.metadata.response_code {
        ResponseCode::NoError if !response.answers.is_empty() => {
            response.answers.iter().map(|r| r.ttl).min().unwrap_or(0)
        }
        ResponseCode::NoError | ResponseCode::NXDomain => response
            .authorities
            .iter()
            .find_map(|r| match &r.data {
                RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
                _ => None,
            })
            .unwrap_or(0),
        _ => 0,
    }
}

async fn forward(query: &[u8], upstream: SocketAddr) -> Option<Vec<u8>> {
    let bind = if upstream.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    };
    let socket = UdpSocket::bind(bind).await.ok()?;
    socket.connect(upstream).await.ok()?;
    socket.send(query).await.ok()?;
    let mut buf = vec![0u8; 4096];
    let len = tokio::time::timeout(UPSTREAM_TIMEOUT, socket.recv(&mut buf))
        .await
        .ok()?
        .ok()?;
    buf.truncate(len);
    Some(buf)
}

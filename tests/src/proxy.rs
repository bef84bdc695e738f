//! A TCP proxy on loopback that a test can cut: every live connection is closed and new ones
//! are dropped at once until [`TcpProxy::restore`]. Put it between a service and its database
//! (or any TCP server) to make that server "unreachable" without stopping it, or slow with
//! [`TcpProxy::set_latency`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

#[derive(Default)]
struct ProxyState {
    cut: AtomicBool,
    accepted: AtomicUsize,
    refused: AtomicUsize,
    /// Delay added before forwarding each chunk, in microseconds.
    latency_us: AtomicU64,
    live: Mutex<Vec<AbortHandle>>,
}

impl ProxyState {
    fn live(&self) -> std::sync::MutexGuard<'_, Vec<AbortHandle>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_us.load(Ordering::SeqCst))
    }
}

/// A forwarding TCP proxy (`127.0.0.1:PORT` → `upstream`), stopped on drop.
pub struct TcpProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    state: Arc<ProxyState>,
    task: JoinHandle<()>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    ///
    /// Panics when no loopback port can be bound.
    pub async fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("TCP proxy cannot listen on 127.0.0.1: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("TCP proxy has no local address: {e}"));
        let state = Arc::new(ProxyState::default());
        let task = tokio::spawn(accept_loop(listener, upstream, state.clone()));
        TcpProxy {
            addr,
            upstream,
            state,
            task,
        }
    }

    /// The proxy's own address: give it to the client instead of the upstream's.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address it forwards to.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// Closes every live connection and drops new ones at once, until [`TcpProxy::restore`].
    pub fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
        for handle in self.state.live().drain(..) {
            handle.abort();
        }
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.state.cut.store(false, Ordering::SeqCst);
    }

    /// Delays every chunk forwarded, in either direction, by `latency` (zero: no delay), on
    /// live connections and new ones alike.
    pub fn set_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.state.latency_us.store(micros, Ordering::SeqCst);
    }

    /// The delay added to each chunk forwarded.
    pub fn latency(&self) -> Duration {
        self.state.latency()
    }

    /// Whether it is cut.
    pub fn is_cut(&self) -> bool {
        self.state.cut.load(Ordering::SeqCst)
    }

    /// Connections forwarded so far.
    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Connections dropped because the proxy was cut (or the upstream refused them).
    pub fn refused(&self) -> usize {
        self.state.refused.load(Ordering::SeqCst)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
        for handle in self.state.live().drain(..) {
            handle.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, state: Arc<ProxyState>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if state.cut.load(Ordering::SeqCst) {
            state.refused.fetch_add(1, Ordering::SeqCst);
            drop(client);
            continue;
        }
        let conn_state = state.clone();
        let task = tokio::spawn(async move {
            match TcpStream::connect(upstream).await {
                Ok(server) => {
                    conn_state.accepted.fetch_add(1, Ordering::SeqCst);
                    forward(client, server, conn_state).await;
                }
                Err(_) => {
                    conn_state.refused.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        let mut live = state.live();
        live.retain(|h| !h.is_finished());
        if state.cut.load(Ordering::SeqCst) {
            // Cut between the check and here: this connection goes too.
            task.abort();
        } else {
            live.push(task.abort_handle());
        }
    }
}

async fn forward(client: TcpStream, server: TcpStream, state: Arc<ProxyState>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        pipe(client_read, server_write, &state),
        pipe(server_read, client_write, &state)
    );
}

/// Copies `from` to `to` chunk by chunk, each after the proxy's current latency.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, state: &ProxyState) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let delay = state.latency();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = socket.read(&mut buf).await {
                        if n == 0 || socket.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
        stream.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await?;
        Ok(buf.to_vec())
    }

    #[tokio::test]
    async fn forwards_cuts_and_restores() {
        let proxy = TcpProxy::start(echo_server().await).await;
        let mut first = TcpStream::connect(proxy.addr()).await.expect("connect");
        assert_eq!(round_trip(&mut first).await.expect("echo"), b"ping");

        proxy.cut();
        assert!(proxy.is_cut());
        // The live connection is closed: the next round trip fails.
        assert!(round_trip(&mut first).await.is_err());
        // New connections are dropped at once.
        let mut during = TcpStream::connect(proxy.addr()).await.expect("connect");
        assert!(round_trip(&mut during).await.is_err());
        assert!(proxy.refused() >= 1);

        proxy.restore();
        let mut after = TcpStream::connect(proxy.addr()).await.expect("connect");
        assert_eq!(round_trip(&mut after).await.expect("echo"), b"ping");
        assert_eq!(proxy.accepted(), 2);
    }

    #[tokio::test]
    async fn latency_delays_each_round_trip_until_set_back_to_zero() {
        let proxy = TcpProxy::start(echo_server().await).await;
        let mut stream = TcpStream::connect(proxy.addr()).await.expect("connect");
        proxy.set_latency(Duration::from_millis(150));
        assert_eq!(proxy.latency(), Duration::from_millis(150));
        let started = std::time::Instant::now();
        assert_eq!(round_trip(&mut stream).await.expect("echo"), b"ping");
        // Both directions are delayed: at least two latencies per round trip.
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "{:?}",
            started.elapsed()
        );
        proxy.set_latency(Duration::ZERO);
        let started = std::time::Instant::now();
        assert_eq!(round_trip(&mut stream).await.expect("echo"), b"ping");
        assert!(
            started.elapsed() < Duration::from_millis(300),
            "{:?}",
            started.elapsed()
        );
    }
}

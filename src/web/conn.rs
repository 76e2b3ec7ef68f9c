//! The server's connections, served by hyper with its own limits, which `axum::serve` leaves
//! unset: a client that sends its request's headers too slowly is cut off
//! (`header_read_timeout`, with the timer hyper needs for it), and one address holds at most
//! `connections_per_address` connections at once (not behind a proxy, where every connection
//! comes from the proxy). Shutting down stops accepting and lets the open requests finish.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tower::ServiceExt as _;

use super::Options;

type Open = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// One connection's place in its address's count, given back when the connection ends.
struct Slot {
    open: Open,
    ip: IpAddr,
}

impl Slot {
    fn take(open: &Open, ip: IpAddr, limit: usize) -> Option<Slot> {
        let mut counts = open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = counts.entry(ip).or_default();
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(Slot { open: open.clone(), ip })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then waits for the open requests.
pub(super) async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    options: &Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limit = if options.behind_proxy { usize::MAX } else { options.connections_per_address };
    let header_timeout = options.header_read_timeout;
    let open: Open = Arc::default();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let Some(slot) = Slot::take(&open, remote.ip(), limit) else {
            tracing::debug!(%remote, "too many connections from one address: closed");
            continue;
        };
        let service = router.clone().map_request(move |mut request: axum::extract::Request<_>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(remote));
            request
        });
        let mut stopping = stopping.clone();
        connections.spawn(async move {
            let _slot = slot;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
            let conn =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)).with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = stopping.changed() => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
        });
    }
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

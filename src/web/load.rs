//! A load measurement of `snop serve` on loopback (`snop bench web`): concurrent reviewers
//! browsing a workspace's cycle board and draft pages, each request timed. Figures, not
//! assertions. The reviewers share one session of the workspace's first enabled user, started
//! directly in the store (no password needed) and ended afterwards. With `slow_clients`, that
//! many connections at once send a request's first header line and then nothing (a
//! "slowloris"), each reopened as soon as the server cuts it off, from loopback addresses
//! 127.0.0.2 and on ([`SLOW_PER_ADDRESS`] a address, as from many machines), all the while the
//! reviewers browse: what a slow-client attack does to the people using the server.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{App, Options};
use crate::config::Workspace;

/// What a load run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadReport {
    pub reviewers: usize,
    pub requests: usize,
    pub failed: usize,
    pub pages: usize,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Slow connections held open at once while the reviewers browsed.
    pub slow_clients: usize,
    /// Slow connections the server cut off (its header read timeout) during the run.
    pub slow_cut_off: usize,
}

/// Slow connections from one loopback address, well under the server's per-address cap.
pub const SLOW_PER_ADDRESS: usize = 100;

/// Serves the workspace on a free loopback port and has `reviewers` clients make `requests`
/// page requests in all, round-robin over the board, every draft's page (tables paged), and
/// each cycle's executive decisions and commitment log.
pub async fn measure(
    ws: &Workspace,
    reviewers: usize,
    requests: usize,
    slow_clients: usize,
) -> anyhow::Result<LoadReport> {
    crate::install_tls_provider();
    let store = crate::pipeline::open_store(ws).await?;
    let person = store
        .users()
        .await?
        .into_iter()
        .find(|u| !u.disabled)
        .ok_or_else(|| {
            crate::UserError("nobody can log in to this workspace: `snop users add` one person first".into())
        })?
        .person;
    let mut pages = vec!["/".to_string()];
    let mut cycles = std::collections::BTreeSet::new();
    for d in store.drafts(None, None).await? {
        pages.push(format!("/drafts/{}", d.id));
        pages.push(format!("/drafts/{}?page=2", d.id));
        pages.push(format!("/drafts/{}/page", d.id));
        cycles.insert(d.cycle);
    }
    for c in cycles {
        pages.push(format!("/cycles/{c}/decisions"));
        pages.push(format!("/cycles/{c}/commitments"));
    }
    let token = format!("bench-{}", crate::store::audit::now());
    let hour = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    store.start_session(&person, &token, "bench", &hour).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = App::new(
        crate::pipeline::open_store(ws).await?,
        ws.directory(),
        ws.company.clone(),
        Options {
            calendar: Some(ws.calendar.clone()),
            returns: crate::pipeline::commitment_lines::returns_folder(ws),
            ..Options::default()
        },
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let addr = listener.local_addr()?;
    let server = tokio::spawn(super::serve(listener, app, async {
        let _ = stopped.await;
    }));
    let slow = Slow::start(addr, slow_clients).await?;

    let next = Arc::new(AtomicUsize::new(0));
    let pages = Arc::new(pages);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..reviewers.max(1) {
        let (next, pages, base, cookie) = (next.clone(), pages.clone(), base.clone(), format!("snop_session={token}"));
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
            let mut times = Vec::new();
            let mut failed = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let t = Instant::now();
                let ok = match client
                    .get(format!("{base}{}", pages[i % pages.len()]))
                    .header("cookie", &cookie)
                    .send()
                    .await
                {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                times.push(t.elapsed());
                failed += usize::from(!ok);
            }
            anyhow::Ok((times, failed))
        }));
    }
    let mut times: Vec<Duration> = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (mut ts, f) = t.await??;
        times.append(&mut ts);
        failed += f;
    }
    let seconds = started.elapsed().as_secs_f64();
    let slow_cut_off = slow.stop().await;
    let _ = stop.send(());
    server.await??;
    store.end_session(&token).await?;
    times.sort();
    let at = |q: f64| {
        times
            .get(((times.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(LoadReport {
        reviewers,
        requests: times.len(),
        failed,
        pages: pages.len(),
        seconds,
        per_second: times.len() as f64 / seconds.max(f64::EPSILON),
        p50_ms: at(0.50),
        p90_ms: at(0.90),
        p99_ms: at(0.99),
        max_ms: at(1.0),
        slow_clients,
        slow_cut_off,
    })
}

/// The slow clients of a load run.
struct Slow {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
    cut_off: Arc<AtomicUsize>,
}

type Ready = tokio::sync::mpsc::Sender<std::io::Result<()>>;

impl Slow {
    /// Opens `n` slow connections to `addr` and returns once every one has sent its first line.
    async fn start(addr: SocketAddr, n: usize) -> anyhow::Result<Slow> {
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let cut_off = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        let (ready, mut all_ready) = tokio::sync::mpsc::channel(n.max(1));
        for i in 0..n {
            let host = 2 + u32::try_from(i / SLOW_PER_ADDRESS)?;
            anyhow::ensure!(host < 1 << 24, "too many slow clients for the loopback network");
            let source = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 0)) + host);
            let (stopping, cut_off) = (stopping.clone(), cut_off.clone());
            let mut first = Some(ready.clone());
            tasks.spawn(async move {
                while !*stopping.borrow() {
                    match hold(addr, source, stopping.clone(), &mut first).await {
                        Ok(true) => {
                            cut_off.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(false) => return,
                        Err(e) => match first.take() {
                            Some(r) => {
                                let _ = r.send(Err(e)).await;
                                return;
                            }
                            None => tokio::time::sleep(Duration::from_millis(50)).await,
                        },
                    }
                }
            });
        }
        drop(ready);
        while let Some(r) = all_ready.recv().await {
            r.map_err(|e| anyhow::anyhow!("opening a slow connection: {e}"))?;
        }
        Ok(Slow { stop, tasks, cut_off })
    }

    /// Closes every slow connection; how many the server cut off.
    async fn stop(mut self) -> usize {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
        self.cut_off.load(Ordering::Relaxed)
    }
}

/// One slow connection from `source`: a request's first line and one header, then nothing
/// (`ready` told once they are sent) until the server closes it (`true`) or the run ends
/// (`false`).
async fn hold(
    addr: SocketAddr,
    source: Ipv4Addr,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    ready: &mut Option<Ready>,
) -> std::io::Result<bool> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let mut stream = socket.connect(addr).await?;
    stream.write_all(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n").as_bytes()).await?;
    if let Some(r) = ready.take() {
        let _ = r.send(Ok(())).await;
    }
    let mut buf = [0u8; 1024];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return Ok(true),
                Ok(_) => {}
            },
            _ = stopping.changed() => return Ok(false),
        }
    }
}

//! Reading a service's `/metrics` endpoint the way Prometheus does (plain HTTP/1.1 GET), and
//! picking values out of the text exposition.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The body of `GET /metrics`; panics on anything but 200.
pub async fn scrape(addr: SocketAddr) -> String {
    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    body
}

/// `GET path` on the metrics port (plain HTTP/1.1, as Prometheus and the kubelet's probes ask):
/// the status code and the body.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("connect to {path}: {e}"));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap_or_else(|e| panic!("write: {e}"));
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap_or_else(|e| panic!("read: {e}"));
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP body in {response:?}"));
    let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, body.to_string())
}

/// The sum of the samples of `family` whose labels include every `label="value"` given.
pub fn sum(text: &str, family: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| line.split(['{', ' ']).next() == Some(family))
        .filter(|line| labels.iter().all(|(k, v)| line.contains(&format!("{k}=\"{v}\""))))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The value of the one series of `family` whose labels include every `label="value"` given;
/// panics when none or several match (a missing series is a failure, not a zero).
pub fn sample(text: &str, family: &str, labels: &[(&str, &str)]) -> f64 {
    let matching: Vec<&str> = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| line.split(['{', ' ']).next() == Some(family))
        .filter(|line| labels.iter().all(|(k, v)| line.contains(&format!("{k}=\"{v}\""))))
        .collect();
    match matching.as_slice() {
        [line] => line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("unreadable sample {line:?}")),
        [] => panic!("no series {family}{labels:?} in:\n{text}"),
        many => panic!("{} series match {family}{labels:?}: {many:#?}", many.len()),
    }
}

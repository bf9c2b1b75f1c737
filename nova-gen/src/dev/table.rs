//! Phase 3c: the table `dev` prints once the services are up: where each answers, and how
//! long it took from its process start to SERVING.

use std::fmt::Write as _;
use std::time::Duration;

/// One row: what the supervisor knows of a service when the table is printed.
#[derive(Debug, Clone)]
pub struct Row {
    pub service: String,
    pub grpc_port: u16,
    pub metrics_port: u16,
    /// `SERVING`, `NOT SERVING`, `exited`...
    pub state: String,
    /// Process start to SERVING, when it got there.
    pub ready_after: Option<Duration>,
    pub pid: Option<u32>,
}

pub fn render(rows: &[Row]) -> String {
    let header = ["service", "gRPC", "metrics", "state", "start to SERVING", "pid"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|row| {
            [
                row.service.clone(),
                format!("127.0.0.1:{}", row.grpc_port),
                format!("http://127.0.0.1:{}/metrics", row.metrics_port),
                row.state.clone(),
                row.ready_after.map_or_else(|| "-".to_string(), |d| format!("{} ms", d.as_millis())),
                row.pid.map_or_else(|| "-".to_string(), |p| p.to_string()),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, row: &[&str]| {
        let padded: Vec<String> = row.iter().zip(widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        let _ = writeln!(out, "  {}", padded.join("  ").trim_end());
    };
    line(&mut out, &header);
    for row in &cells {
        line(&mut out, &row.iter().map(String::as_str).collect::<Vec<_>>());
    }
    out
}

/// How to call the running system from outside: the edge certificate, a token, grpcurl.
pub fn how_to_call(pki: &super::pki::Pki, rows: &[Row]) -> String {
    let auth = rows.iter().find(|r| r.service == "auth").map_or(50051, |r| r.grpc_port);
    let edge = (pki.edge.cert.display(), pki.edge.key.display(), pki.ca.display());
    let mut text = String::new();
    let _ = writeln!(text, "Every service speaks mutual TLS only. Call it as the edge (the client certificate `dev` made) and,");
    let _ = writeln!(text, "for anything but public RPCs, with a user's access token (see generated/ops/ACCESS.md):");
    let _ = writeln!(text, "  TLS=\"-cacert {} -cert {} -key {}\"", edge.2, edge.0, edge.1);
    let _ = writeln!(
        text,
        "  TOKEN=$(grpcurl $TLS -authority nova-auth -d '{{\"email\":\"<email>\",\"password\":\"<password>\"}}' 127.0.0.1:{auth} nova.auth.v1.AuthService/Login | jq -r .tokens.accessToken)"
    );
    let _ = writeln!(text, "  grpcurl $TLS -authority nova-<service> -H \"authorization: Bearer $TOKEN\" 127.0.0.1:<port> list");
    text
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Row, render};

    #[test]
    fn columns_line_up() {
        let rows = [
            Row {
                service: "auth".into(),
                grpc_port: 50051,
                metrics_port: 51051,
                state: "SERVING".into(),
                ready_after: Some(Duration::from_millis(87)),
                pid: Some(42),
            },
            Row { service: "streaming".into(), grpc_port: 50058, metrics_port: 51058, state: "exited".into(), ready_after: None, pid: None },
        ];
        let table = render(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].starts_with("  auth       127.0.0.1:50051  http://127.0.0.1:51051/metrics  SERVING  87 ms"), "{table}");
        assert!(lines[2].contains("streaming  127.0.0.1:50058") && lines[2].ends_with("exited   -                 -"), "{table}");
        let state_column = lines[0].find("state");
        assert_eq!(lines[1].find("SERVING"), state_column, "{table}");
    }
}

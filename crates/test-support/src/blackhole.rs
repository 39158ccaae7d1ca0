//! A connection that silently stops answering: every packet to and from its client
//! port on loopback is dropped by a firewall rule, no FIN, no RST, as when a network
//! path dies. (Closing the connection, as `proxy::TcpProxy::cut` does, is not the same:
//! the peer sees that at once.) Needs root and `iptables`, as CI has; a test that
//! cannot set the rule fails rather than passing without it.

use std::process::Command;

use anyhow::Context as _;
use sqlx::{Connection, PgConnection};

/// The rules dropping the ports' packets; removed on drop.
#[derive(Debug)]
pub struct Blackhole {
    ports: Vec<u16>,
}

/// Client ports of the sessions named `application` on `database`, as the server sees
/// them in `pg_stat_activity`.
pub async fn client_ports(database: &str, application: &str) -> anyhow::Result<Vec<u16>> {
    let mut admin = PgConnection::connect(&crate::postgres_admin_url()).await?;
    let ports: Vec<i32> = sqlx::query_scalar(
        "SELECT client_port FROM pg_stat_activity
         WHERE datname = $1 AND application_name = $2 AND client_port > 0",
    )
    .bind(database)
    .bind(application)
    .fetch_all(&mut admin)
    .await?;
    admin.close().await?;
    Ok(ports.into_iter().map(|p| p as u16).collect())
}

fn iptables(action: &str, direction: &str, port: u16) -> anyhow::Result<()> {
    let port = port.to_string();
    let status = Command::new("iptables")
        .args([
            "-w", action, "INPUT", "-i", "lo", "-p", "tcp", direction, &port, "-j", "DROP",
        ])
        .status()
        .context("running iptables (tests that black-hole a connection need root)")?;
    anyhow::ensure!(
        status.success(),
        "iptables {action} {direction} {port} failed"
    );
    Ok(())
}

impl Blackhole {
    /// Drops every packet to or from `ports` from now on.
    pub fn ports(ports: &[u16]) -> anyhow::Result<Self> {
        anyhow::ensure!(!ports.is_empty(), "no connection to black-hole");
        let mut hole = Self { ports: Vec::new() };
        for &port in ports {
            iptables("-I", "--dport", port)?;
            hole.ports.push(port);
            iptables("-I", "--sport", port)?;
        }
        Ok(hole)
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        for &port in &self.ports {
            let _ = iptables("-D", "--dport", port);
            let _ = iptables("-D", "--sport", port);
        }
    }
}

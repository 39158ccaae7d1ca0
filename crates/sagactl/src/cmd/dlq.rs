//! `sagactl dlq list|show|replay|discard`: the dead letter topics of the services.

use anyhow::Context as _;
use chrono::Utc;
use clap::{Args, Subcommand};
use contracts::topics::SERVICES;
use messaging::dlq::DlqClass;
use messaging::dlq_admin::{DeadLetter, DlqAdmin, Selector};
use messaging::{EventProducer, KafkaConfig};

#[derive(Debug, Subcommand)]
pub(crate) enum DlqCommand {
    /// Dead letters past the settle cursor (with --all, settled ones too).
    List {
        #[command(flatten)]
        group: GroupArg,
        /// Show settled messages as well.
        #[arg(long)]
        all: bool,
    },
    /// One dead letter with every header and its body.
    Show {
        #[command(flatten)]
        group: GroupArg,
        /// `<partition>:<offset>` in the DLQ topic.
        position: String,
    },
    /// Send dead letters back to `<group>.retry`, consumed by that group alone.
    Replay {
        #[command(flatten)]
        selection: Selection,
    },
    /// Settle dead letters without replaying them.
    Discard {
        #[command(flatten)]
        selection: Selection,
        /// Why they are dropped; logged with each one.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct GroupArg {
    /// Consumer group (service name); every service's when omitted.
    #[arg(long)]
    group: Option<String>,
}

impl GroupArg {
    fn groups(&self) -> Vec<String> {
        match &self.group {
            Some(group) => vec![group.clone()],
            None => SERVICES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct Selection {
    #[command(flatten)]
    group: GroupArg,
    /// `<partition>:<offset>` positions in the DLQ topic (needs --group).
    positions: Vec<String>,
    /// `class=poison|handler|unsupported-version`, `type=<ce_type>`, `topic=<original
    /// topic>`, `key=<order id>`; repeatable, all must match.
    #[arg(long = "filter")]
    filters: Vec<String>,
    /// Every unsettled dead letter (of --group, or of every group).
    #[arg(long)]
    all: bool,
    /// Print what would be done, do nothing.
    #[arg(long)]
    dry_run: bool,
}

impl Selection {
    fn selector(&self) -> anyhow::Result<Selector> {
        if self.positions.is_empty() && self.filters.is_empty() && !self.all {
            anyhow::bail!("say which dead letters: positions, --filter, or --all");
        }
        if !self.positions.is_empty() && self.group.group.is_none() {
            anyhow::bail!("positions are per DLQ topic: give --group");
        }
        let mut selector = Selector {
            positions: self
                .positions
                .iter()
                .map(|p| parse_position(p))
                .collect::<anyhow::Result<_>>()?,
            ..Selector::default()
        };
        for filter in &self.filters {
            let (key, value) = filter.split_once('=').context("a filter is key=value")?;
            let value = value.to_owned();
            match key {
                "class" => {
                    selector.class = Some(
                        DlqClass::parse(&value)
                            .context("class is poison, handler or unsupported-version")?,
                    )
                }
                "type" => selector.event_type = Some(value),
                "topic" => selector.original_topic = Some(value),
                "key" => selector.key = Some(value),
                other => anyhow::bail!("unknown filter {other:?} (class, type, topic, key)"),
            }
        }
        Ok(selector)
    }
}

fn parse_position(text: &str) -> anyhow::Result<(i32, i64)> {
    let (partition, offset) = text
        .split_once(':')
        .context("a position is <partition>:<offset>")?;
    Ok((partition.parse()?, offset.parse()?))
}

pub(crate) async fn run(kafka: &KafkaConfig, command: DlqCommand) -> anyhow::Result<()> {
    match command {
        DlqCommand::List { group, all } => {
            println!(
                "{:<18} {:<10} {:<34} {:<26} {:<20} {:>8} {:>8}  {:<9} ERROR",
                "GROUP", "POSITION", "ORIGINAL", "TYPE", "CLASS", "ATTEMPTS", "AGE", "STATE"
            );
            let mut unsettled = 0;
            for group in group.groups() {
                for letter in DlqAdmin::new(kafka.clone(), &group).list(all).await? {
                    unsettled += usize::from(!letter.settled);
                    print_row(&group, &letter);
                }
            }
            println!("{unsettled} unsettled");
        }
        DlqCommand::Show { group, position } => {
            let group = group.group.context("show needs --group")?;
            let (partition, offset) = parse_position(&position)?;
            let letters = DlqAdmin::new(kafka.clone(), &group).list(true).await?;
            let letter = letters
                .iter()
                .find(|l| l.partition == partition && l.offset == offset)
                .with_context(|| format!("no dead letter at {position} in {group}.dlq"))?;
            println!(
                "position: {}  settled: {}",
                letter.position(),
                letter.settled
            );
            println!("key:      {}", String::from_utf8_lossy(&letter.key));
            println!("headers:");
            for (key, value) in &letter.headers {
                println!("  {key}: {}", String::from_utf8_lossy(value));
            }
            println!("body ({} bytes):", letter.payload.len());
            println!("{}", String::from_utf8_lossy(&letter.payload));
        }
        DlqCommand::Replay { selection } => {
            let selector = selection.selector()?;
            let producer = EventProducer::new(kafka)?;
            for (admin, letters) in selected(kafka, &selection, &selector).await? {
                for letter in &letters {
                    println!(
                        "{} {} {} -> {}.retry",
                        verb(selection.dry_run, "replay"),
                        admin.topic(),
                        letter.position(),
                        group_of(&admin)
                    );
                }
                if !selection.dry_run {
                    admin.replay(&letters, &producer).await?;
                }
            }
        }
        DlqCommand::Discard { selection, reason } => {
            if reason.trim().is_empty() {
                anyhow::bail!("--reason must say why");
            }
            let selector = selection.selector()?;
            for (admin, letters) in selected(kafka, &selection, &selector).await? {
                for letter in &letters {
                    println!(
                        "{} {} {} ({reason})",
                        verb(selection.dry_run, "discard"),
                        admin.topic(),
                        letter.position()
                    );
                }
                if !selection.dry_run {
                    admin.discard(&letters, &reason).await?;
                }
            }
        }
    }
    Ok(())
}

async fn selected(
    kafka: &KafkaConfig,
    selection: &Selection,
    selector: &Selector,
) -> anyhow::Result<Vec<(DlqAdmin, Vec<DeadLetter>)>> {
    let mut chosen = Vec::new();
    let mut count = 0;
    for group in selection.group.groups() {
        let admin = DlqAdmin::new(kafka.clone(), &group);
        let letters: Vec<DeadLetter> = admin
            .list(false)
            .await?
            .into_iter()
            .filter(|l| selector.matches(l))
            .collect();
        count += letters.len();
        chosen.push((admin, letters));
    }
    if count == 0 {
        println!("no unsettled dead letter matches");
    }
    Ok(chosen)
}

fn group_of(admin: &DlqAdmin) -> String {
    admin.topic().trim_end_matches(".dlq").to_owned()
}

fn verb(dry_run: bool, verb: &str) -> String {
    if dry_run {
        format!("would {verb}")
    } else {
        verb.to_owned()
    }
}

fn print_row(group: &str, letter: &DeadLetter) {
    let age = letter
        .last_failed_at()
        .map(|t| humanize(Utc::now() - t))
        .unwrap_or_else(|| "?".to_owned());
    let mut error = letter
        .header(contracts::headers::dlq::ERROR)
        .unwrap_or_default();
    error.truncate(80);
    println!(
        "{:<18} {:<10} {:<34} {:<26} {:<20} {:>8} {:>8}  {:<9} {}",
        group,
        letter.position(),
        letter.original(),
        letter.event_type().unwrap_or_else(|| "-".to_owned()),
        letter.class().map(DlqClass::as_str).unwrap_or("-"),
        letter
            .header(contracts::headers::dlq::ATTEMPTS)
            .unwrap_or_default(),
        age,
        if letter.settled {
            "settled"
        } else {
            "unsettled"
        },
        error.replace('\n', " ")
    );
}

fn humanize(age: chrono::TimeDelta) -> String {
    let seconds = age.num_seconds().max(0);
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86400 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86400),
    }
}

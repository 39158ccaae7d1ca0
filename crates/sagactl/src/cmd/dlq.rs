//! `sagactl dlq list|show|replay|discard`: the dead letter topics of the services.

use anyhow::Context as _;
use chrono::Utc;
use clap::{Args, Subcommand};
use contracts::topics::SERVICES;
use messaging::dlq::DlqClass;
use messaging::dlq_admin::{DeadLetter, DlqAdmin, Selector, Settler};
use messaging::{EventProducer, KafkaConfig};

use super::shown;

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
    /// topic>`, `key=<order id or correlation id>`; repeatable, all must match.
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
                let mut letters = DlqAdmin::new(kafka.clone(), &group).stream(all);
                while let Some(letter) = letters.next().await {
                    let letter = letter?;
                    unsettled += usize::from(!letter.settled);
                    println!("{}", row(&group, &letter));
                }
            }
            println!("{unsettled} unsettled");
        }
        DlqCommand::Show { group, position } => {
            let group = group.group.context("show needs --group")?;
            let (partition, offset) = parse_position(&position)?;
            let letter = DlqAdmin::new(kafka.clone(), &group)
                .get(partition, offset)
                .await
                .with_context(|| format!("no dead letter at {position} in {group}.dlq"))?;
            print!("{}", details(&letter));
        }
        DlqCommand::Replay { selection } => {
            let selector = selection.selector()?;
            let producer = EventProducer::new(kafka)?;
            act(
                kafka,
                &selection,
                &selector,
                async |settler, admin, letter| {
                    println!(
                        "{} {} {} -> {}.retry",
                        verb(selection.dry_run, "replay"),
                        admin.topic(),
                        letter.position(),
                        group_of(admin)
                    );
                    match settler {
                        Some(settler) => Ok(settler.replay(letter, &producer).await?),
                        None => Ok(()),
                    }
                },
            )
            .await?;
        }
        DlqCommand::Discard { selection, reason } => {
            if reason.trim().is_empty() {
                anyhow::bail!("--reason must say why");
            }
            let selector = selection.selector()?;
            act(
                kafka,
                &selection,
                &selector,
                async |settler, admin, letter| {
                    println!(
                        "{} {} {} ({})",
                        verb(selection.dry_run, "discard"),
                        admin.topic(),
                        letter.position(),
                        shown::line(&reason)
                    );
                    match settler {
                        Some(settler) => Ok(settler.discard(letter, &reason).await?),
                        None => Ok(()),
                    }
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// Applies `action` to every unsettled letter `selector` matches, as the letters stream
/// by, under each DLQ's settle lease (none on a dry run).
async fn act(
    kafka: &KafkaConfig,
    selection: &Selection,
    selector: &Selector,
    mut action: impl AsyncFnMut(Option<&mut Settler>, &DlqAdmin, &DeadLetter) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut count = 0;
    for group in selection.group.groups() {
        let admin = DlqAdmin::new(kafka.clone(), &group);
        let mut settler = match selection.dry_run {
            true => None,
            false => Some(admin.settler().await?),
        };
        let mut letters = admin.stream(false);
        while let Some(letter) = letters.next().await {
            let letter = letter?;
            if selector.matches(&letter) {
                count += 1;
                action(settler.as_mut(), &admin, &letter).await?;
            }
        }
        if let Some(settler) = settler {
            settler.close().await?;
        }
    }
    if count == 0 {
        println!("no unsettled dead letter matches");
    }
    Ok(())
}

/// `dlq show`: the position, every header and the body, escaped.
fn details(letter: &DeadLetter) -> String {
    let mut out = format!(
        "position: {}  settled: {}\nkey:      {}\nheaders:\n",
        letter.position(),
        letter.settled,
        shown::line(&String::from_utf8_lossy(&letter.key))
    );
    for (key, value) in &letter.headers {
        out += &format!(
            "  {}: {}\n",
            shown::line(key),
            shown::line(&String::from_utf8_lossy(value))
        );
    }
    out += &format!(
        "body ({} bytes):\n{}\n",
        letter.payload.len(),
        shown::lines(&String::from_utf8_lossy(&letter.payload))
    );
    out
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

/// One line of `dlq list`.
fn row(group: &str, letter: &DeadLetter) -> String {
    let age = letter
        .last_failed_at()
        .map(|t| humanize(Utc::now() - t))
        .unwrap_or_else(|| "?".to_owned());
    let error = letter
        .header(contracts::headers::dlq::ERROR)
        .unwrap_or_default();
    let text = |t: Option<String>| shown::line(&t.unwrap_or_default());
    format!(
        "{:<18} {:<10} {:<34} {:<26} {:<20} {:>8} {:>8}  {:<9} {}",
        group,
        letter.position(),
        shown::line(&letter.original()),
        text(letter.event_type().or_else(|| Some("-".to_owned()))),
        letter.class().map(DlqClass::as_str).unwrap_or("-"),
        text(letter.header(contracts::headers::dlq::ATTEMPTS)),
        age,
        if letter.settled {
            "settled"
        } else {
            "unsettled"
        },
        shown::line(&shown::cut(&error, 80))
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(headers: &[(&str, &str)]) -> DeadLetter {
        DeadLetter {
            partition: 0,
            offset: 7,
            key: b"k".to_vec(),
            payload: b"{}".to_vec(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
                .collect(),
            settled: false,
        }
    }

    #[test]
    fn a_long_error_in_japanese_is_cut_between_characters() {
        let error = format!("unknown event type {}", "注文が作成されました".repeat(10));
        let line = row(
            "payment-service",
            &letter(&[("ce_type", "注文が作成されました"), ("dlq-error", &error)]),
        );
        assert!(line.contains("unknown event type 注文"), "{line}");
        assert!(line.ends_with('…'), "a cut error says so: {line}");
    }

    #[test]
    fn escape_sequences_in_a_letter_reach_the_terminal_escaped() {
        let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{202e}gnp.exe\r";
        let line = row(
            "payment-service",
            &letter(&[
                ("ce_type", hostile),
                ("dlq-error", hostile),
                ("dlq-original-topic", hostile),
                ("dlq-attempts", hostile),
            ]),
        );
        for raw in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\r'] {
            assert!(!line.contains(raw), "{raw:?} printed raw: {line:?}");
        }
        assert!(line.contains("\\x1b]0;pwned"), "{line:?}");
    }

    #[test]
    fn show_escapes_headers_key_and_body_but_keeps_the_bodys_lines() {
        let mut hostile = letter(&[("x-\u{1b}[8m", "\u{1b}]8;;http://evil\u{7}")]);
        hostile.key = b"\x1b[2J".to_vec();
        hostile.payload = b"{\n  \"a\": \"\x1b[31m\xc2\x9b\"\n}".to_vec();
        let shown = details(&hostile);
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{9b}'),
            "{shown:?}"
        );
        assert!(
            shown.contains("{\n  \"a\": \"\\x1b[31m\\u{9b}\"\n}"),
            "{shown:?}"
        );
    }
}

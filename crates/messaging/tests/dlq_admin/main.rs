//! The DLQ tooling's settle cursor and reader against the real Kafka: bounded commit
//! metadata, operators settling at once, and reading one letter or a stream of them.

use contracts::topics::{SIDE_TOPIC_MAX_BYTES, TopicSpec, dlq_topic};
use messaging::EventProducer;
use messaging::dlq_admin::{DeadLetter, DepthProbe, DlqAdmin};
use rdkafka::message::{Header, OwnedHeaders};

/// A DLQ of its own with `count` letters; letter `n` has key `key-<n % partitions>`, so
/// each partition gets its share in order.
async fn dlq_with(label: &str, partitions: i32, count: usize) -> anyhow::Result<DlqAdmin> {
    let group = test_support::unique_name(label);
    let kafka = test_support::kafka();
    let spec = TopicSpec {
        name: dlq_topic(&group),
        partitions,
        max_message_bytes: SIDE_TOPIC_MAX_BYTES,
    };
    messaging::admin::ensure_topics(&kafka, &[spec]).await?;
    let producer = EventProducer::new(&kafka)?;
    let topic = dlq_topic(&group);
    let mut pending = Vec::with_capacity(count);
    for n in 0..count {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "ce_type",
                value: Some("order.created.v1"),
            })
            .insert(Header {
                key: "dlq-error-class",
                value: Some("handler"),
            })
            .insert(Header {
                key: "dlq-error",
                value: Some(&format!("letter {n}")),
            });
        let key = format!("key-{}", n as i32 % partitions);
        pending.push(
            producer
                .enqueue_raw(&topic, key.as_bytes(), format!("{n}").as_bytes(), headers)
                .await?,
        );
    }
    for delivery in pending {
        delivery.delivered().await?;
    }
    Ok(DlqAdmin::new(kafka, group))
}

fn at(letters: &[DeadLetter], keep: impl Fn(i64) -> bool) -> Vec<DeadLetter> {
    letters.iter().filter(|l| keep(l.offset)).cloned().collect()
}

#[tokio::test]
async fn settling_scattered_letters_fails_clearly_before_the_commit_metadata_overflows()
-> anyhow::Result<()> {
    let count = 2400;
    let admin = dlq_with("dlq_bound", 1, count).await?;
    let letters = admin.list(false).await?;
    assert_eq!(letters.len(), count);

    // Every other letter: none of them can move the cursor, all are remembered past it.
    let err = admin
        .discard(&at(&letters, |o| o % 2 == 1), "scattered")
        .await
        .expect_err("1,200 scattered settlements cannot fit in 4 KiB of metadata");
    assert!(
        err.to_string().contains("settle 0:0 first"),
        "the error says what to do: {err}"
    );
    // What was settled before the refusal is kept, and counted.
    let settled = admin.list(true).await?.iter().filter(|l| l.settled).count();
    assert!(settled > 100, "only {settled} settled before the refusal");
    assert_eq!(admin.depth().await?, (count - settled) as u64);

    // Settling the gaps moves the cursor over them and makes room again.
    admin.discard(&at(&letters, |o| o % 2 == 0), "gaps").await?;
    let rest = admin.list(false).await?;
    assert_eq!(rest.len(), count / 2 - settled);
    admin.discard(&rest, "the rest").await?;
    assert_eq!(admin.depth().await?, 0);
    assert!(admin.list(false).await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_operators_settling_one_partition_at_once_lose_no_settlement() -> anyhow::Result<()> {
    let count = 120;
    let admin = dlq_with("dlq_concurrent", 1, count).await?;
    let letters = admin.list(false).await?;
    assert_eq!(letters.len(), count);
    let (evens, odds) = (at(&letters, |o| o % 2 == 0), at(&letters, |o| o % 2 == 1));
    let (first, second) = (admin.clone(), admin.clone());
    let (a, b) = tokio::join!(
        tokio::spawn(async move { first.discard(&evens, "operator a").await }),
        tokio::spawn(async move { second.discard(&odds, "operator b").await }),
    );
    a??;
    b??;
    assert_eq!(
        admin.depth().await?,
        0,
        "a settlement was lost: {:?}",
        admin
            .list(false)
            .await?
            .iter()
            .map(DeadLetter::position)
            .collect::<Vec<_>>()
    );
    Ok(())
}

#[tokio::test]
async fn a_letter_is_read_by_its_position_and_a_missing_one_is_not_found() -> anyhow::Result<()> {
    let admin = dlq_with("dlq_get", 2, 40).await?;
    let all = admin.list(true).await?;
    let partition = all[all.len() - 1].partition;
    let of_partition = at(&all, |_| true)
        .into_iter()
        .filter(|l| l.partition == partition)
        .collect::<Vec<_>>();
    let wanted = &of_partition[of_partition.len() / 2];
    let letter = admin.get(partition, wanted.offset).await?;
    assert_eq!(
        (letter.partition, letter.offset),
        (partition, wanted.offset)
    );
    assert_eq!(letter.payload, wanted.payload);
    assert!(!letter.settled);
    admin.discard(std::slice::from_ref(&letter), "read").await?;
    assert!(admin.get(partition, wanted.offset).await?.settled);
    let end = of_partition.len() as i64;
    for (partition, offset) in [(partition, end), (partition, -1), (5, 0)] {
        let missing = admin.get(partition, offset).await;
        assert!(
            matches!(
                missing,
                Err(messaging::dlq_admin::DlqAdminError::NotFound { .. })
            ),
            "{partition}:{offset}: {missing:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_listing_streams_letters_in_partition_and_offset_order() -> anyhow::Result<()> {
    let admin = dlq_with("dlq_stream", 3, 30).await?;
    let first = admin.list(false).await?;
    admin.discard(&first[..2], "settled first").await?;
    let mut stream = admin.stream(false);
    let mut seen = Vec::new();
    while let Some(letter) = stream.next().await {
        seen.push(letter?.position());
    }
    let expected: Vec<String> = first[2..].iter().map(DeadLetter::position).collect();
    assert_eq!(seen, expected);
    // A reader dropped half-way stops without waiting for the rest.
    let mut stream = admin.stream(true);
    assert!(stream.next().await.is_some());
    drop(stream);
    Ok(())
}

/// A service's gauge keeps one probe for its life: each count sees the settlements made
/// since the last, on every partition, from the log starts and ends asked in one go.
#[tokio::test]
async fn a_probe_kept_across_settlements_counts_each_partition_afresh() -> anyhow::Result<()> {
    let admin = dlq_with("dlq_probe", 3, 9).await?;
    let probe = DepthProbe::new(&admin)?;
    assert_eq!(probe.depth().await?, 9);

    let letters = admin.list(false).await?;
    let first_of_each: Vec<DeadLetter> =
        letters.iter().filter(|l| l.offset == 0).cloned().collect();
    assert_eq!(
        first_of_each.len(),
        3,
        "a letter at offset 0 in every partition"
    );
    admin.discard(&first_of_each, "first of each").await?;
    assert_eq!(probe.depth().await?, 6);

    // Settled ahead of the cursor, on one partition only.
    let last_of_one: Vec<DeadLetter> = letters
        .iter()
        .filter(|l| l.partition == 0 && l.offset == 2)
        .cloned()
        .collect();
    admin.discard(&last_of_one, "last of partition 0").await?;
    assert_eq!(probe.depth().await?, 5);
    assert_eq!(
        admin.depth().await?,
        5,
        "a probe made for one question agrees"
    );
    Ok(())
}

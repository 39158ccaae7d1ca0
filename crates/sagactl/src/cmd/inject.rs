//! `sagactl inject`: puts one raw message on a topic, marked `test-injected: true`, for
//! scenarios and fault tests (a malformed message, an unknown type, ...).

use clap::Args;
use messaging::headers::to_owned_headers;
use messaging::{EventProducer, KafkaConfig};

#[derive(Debug, Args)]
pub(crate) struct InjectArgs {
    /// Topic, as the contracts name it (the deployment's prefix is added).
    #[arg(long)]
    topic: String,
    #[arg(long)]
    key: String,
    /// The body, sent as is.
    #[arg(long)]
    value: String,
    /// `name=value`, repeatable.
    #[arg(long = "header")]
    headers: Vec<String>,
}

pub(crate) async fn run(kafka: &KafkaConfig, args: InjectArgs) -> anyhow::Result<()> {
    let mut headers = Vec::new();
    for header in &args.headers {
        let (name, value) = header
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("a header is name=value, not {header:?}"))?;
        headers.push((name.to_owned(), value.to_owned()));
    }
    headers.push((
        contracts::headers::TEST_INJECTED.to_owned(),
        "true".to_owned(),
    ));
    let topic = kafka.topic(&args.topic);
    let producer = EventProducer::new(kafka)?;
    let delivered = producer
        .send_raw(
            &topic,
            args.key.as_bytes(),
            args.value.as_bytes(),
            to_owned_headers(headers),
        )
        .await?;
    println!(
        "injected into {topic} partition {} offset {}",
        delivered.partition, delivered.offset
    );
    Ok(())
}

//! The native scripts create topics from `scripts/kafka/topics.txt`; it must list
//! exactly the topics the contracts define.

use std::path::Path;

use contracts::topics::{TopicSpec, all_topics};

#[test]
fn the_scripts_topic_list_matches_the_contracts() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/kafka/topics.txt");
    let text = std::fs::read_to_string(&file).unwrap();
    let listed: Vec<TopicSpec> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(
                fields.len(),
                3,
                "{line:?}: name partitions max.message.bytes"
            );
            TopicSpec {
                name: fields[0].to_owned(),
                partitions: fields[1].parse().unwrap(),
                max_message_bytes: fields[2].parse().unwrap(),
            }
        })
        .collect();
    assert_eq!(
        listed,
        all_topics(),
        "{} is out of step with contracts::topics",
        file.display()
    );
}

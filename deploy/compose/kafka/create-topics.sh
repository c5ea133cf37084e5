#!/bin/sh
# One-shot topic creation for the compose stack (run in the apache/kafka image).
# Idempotent: --if-not-exists.
set -eu
BIN="${KAFKA_BIN:-/opt/kafka/bin}"
BOOTSTRAP="${BOOTSTRAP:-kafka:9092}"
RAW_PARTITIONS="${RAW_PARTITIONS:-6}"
create() {
  "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$1" --partitions "$2" --replication-factor 1 ${3:+--config "$3"}
}
# articles.raw: the partition count caps the number of useful newsflow instances.
create articles.raw "$RAW_PARTITIONS"
create articles.enriched "$RAW_PARTITIONS"
# The DLQ keeps records for 14 days so that they can be re-driven after a fix.
create articles.dlq 1 retention.ms=1209600000
"$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --describe \
  --topic articles.raw --topic articles.enriched --topic articles.dlq 2>/dev/null \
  || "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --list
echo "topics ready"

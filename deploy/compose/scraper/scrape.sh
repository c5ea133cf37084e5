#!/bin/sh
# Sample scraper for the compose stack (runs in the apache/kafka image): every
# INTERVAL_SECONDS, publishes each samples/*.json file as one record to TOPIC with
# kafka-console-producer.sh (one JVM per round), keyed by the file name.
# INCLUDE_BAD=1 adds the samples/bad/*.json records, which newsflow dead-letters.
set -eu
BOOTSTRAP="${BOOTSTRAP:-kafka:9092}"
TOPIC="${TOPIC:-articles.raw}"
INTERVAL_SECONDS="${INTERVAL_SECONDS:-5}"
INCLUDE_BAD="${INCLUDE_BAD:-0}"
SAMPLES="${SAMPLES:-/samples}"
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"
# ROUNDS=N stops after N rounds (0: forever); deploy/check.sh runs one round with a stub.
ROUNDS="${ROUNDS:-0}"

records() {
  for f in "$SAMPLES"/*.json; do
    [ -f "$f" ] || continue
    # key<TAB>value on one line: the files are single JSON documents; newlines inside
    # them are whitespace, so joining lines keeps the JSON intact.
    printf '%s\t%s\n' "$(basename "$f")" "$(tr '\n\r' '  ' < "$f")"
  done
  if [ "$INCLUDE_BAD" = "1" ]; then
    for f in "$SAMPLES"/bad/*.json; do
      [ -f "$f" ] || continue
      printf '%s\t%s\n' "bad/$(basename "$f")" "$(tr '\n\r' '  ' < "$f")"
    done
  fi
}

round=0
while true; do
  round=$((round + 1))
  records | "$KAFKA_BIN/kafka-console-producer.sh" --bootstrap-server "$BOOTSTRAP" \
    --topic "$TOPIC" --property parse.key=true --property key.separator="$(printf '\t')" \
    --producer-property acks=all
  echo "round $round: published $(records | wc -l) records to $TOPIC"
  [ "$ROUNDS" -gt 0 ] && [ "$round" -ge "$ROUNDS" ] && break
  sleep "$INTERVAL_SECONDS"
done

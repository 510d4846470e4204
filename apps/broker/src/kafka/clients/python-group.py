# A kafka-python 2.0.2 (Debian's python3-kafka) group round trip in a process of its own:
# produce PRODUCE records, then read COUNT records as a member of GROUP, commit, leave.
# Prints what it read as one JSON list.
# Usage: python3 python-group.py BROKERS GROUP TOPIC PRODUCE COUNT
import json
import sys

from kafka import KafkaConsumer, KafkaProducer

brokers, group, topic = sys.argv[1].split(','), sys.argv[2], sys.argv[3]
produce, count = int(sys.argv[4]), int(sys.argv[5])

if produce:
    producer = KafkaProducer(bootstrap_servers=brokers, acks='all')
    for i in range(produce):
        producer.send(topic, key=b'k%d' % i, value=b'py-%d' % i)
    producer.flush()
    producer.close()

consumer = KafkaConsumer(
    topic,
    bootstrap_servers=brokers,
    group_id=group,
    client_id='kafka-python-test',
    auto_offset_reset='earliest',
    enable_auto_commit=False,
    session_timeout_ms=6000,
    heartbeat_interval_ms=500,
    consumer_timeout_ms=30000,
)
got = []
for m in consumer:
    got.append({'partition': m.partition, 'offset': m.offset, 'value': m.value.decode()})
    if len(got) >= count:
        break
consumer.commit()
consumer.close()
print(json.dumps(got))

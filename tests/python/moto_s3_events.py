#!/usr/bin/env python3
"""Produces real AWS-shaped S3 -> SQS event notifications with a moto server, for the SQS
trigger test. moto is only the event source: the job file itself lives elsewhere.

    moto_s3_events.py ENDPOINT BUCKET KEY FILE

Creates the queue `weir-events` and BUCKET on the moto server at ENDPOINT, configures the
bucket to notify the queue of created objects, uploads FILE as KEY, and takes the messages
moto delivered (the s3:TestEvent and the ObjectCreated event) off the queue. It then puts
them back so the queue holds, in order: the test event, the object-created event twice (a
redelivery) and one message that is not an S3 event at all. Prints one JSON object:
{"queue_url", "event"} (event: the object-created message body).
"""
import json
import sys
import time

import boto3


def main():
    endpoint, bucket, key, path = sys.argv[1:5]
    session = boto3.session.Session(
        aws_access_key_id="moto", aws_secret_access_key="moto", region_name="us-east-1"
    )
    sqs = session.client("sqs", endpoint_url=endpoint)
    s3 = session.client("s3", endpoint_url=endpoint)
    queue_url = sqs.create_queue(QueueName="weir-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    with open(path, "rb") as f:
        s3.put_object(Bucket=bucket, Key=key, Body=f.read())

    bodies = []
    deadline = time.time() + 20
    while time.time() < deadline and not any("ObjectCreated" in b for b in bodies):
        out = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in out.get("Messages", []):
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    created = [b for b in bodies if "ObjectCreated" in b]
    if not created:
        print(json.dumps({"error": "moto delivered no ObjectCreated event", "bodies": bodies}))
        sys.exit(1)
    tests = [b for b in bodies if "s3:TestEvent" in b]
    for body in tests + [created[0], created[0], "this is not an S3 event"]:
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    print(json.dumps({"queue_url": queue_url, "event": created[0], "test_events": len(tests)}))


if __name__ == "__main__":
    main()

//! The SQS trigger: S3 event notifications delivered to an SQS queue (the AWS production
//! path), long-polled. Every record of every message is handled through the same parser as
//! the HTTP endpoint; a message is deleted only after all its runs are committed to the store,
//! so a crash or a store error leaves it on the queue to be received again (and a redelivery
//! is then a duplicate of the run already queued, never a second run).
//!
//! A message that is not an S3 notification at all is logged with its body and deleted: it
//! can never succeed, and keeping it would only redeliver it forever.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::Client;
use serde_json::{Map, Value};
use tokio::sync::Notify;

use crate::store::Store;
use crate::trigger::{TriggerConfig, queue_objects};

/// Builds the client the standard AWS way (environment, profile, instance/task role), with
/// the trigger's endpoint and region when given.
async fn client(config: &TriggerConfig) -> Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = &config.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some(region) = &config.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let mut shared = loader.load().await;
    if shared.region().is_none() {
        shared = shared.into_builder().region(aws_config::Region::from_static("us-east-1")).build();
    }
    Client::new(&shared)
}

/// Consumes `config`'s queue in the background (the AWS configuration, which may query
/// instance metadata, is loaded there too, so it never delays the service's start).
pub fn start(config: TriggerConfig, env: Map<String, Value>, store: Store, wake: Arc<Notify>) {
    tokio::spawn(async move {
        let client = client(&config).await;
        consume(client, config, env, store, wake).await
    });
}

async fn consume(client: Client, trigger: TriggerConfig, env: Map<String, Value>, store: Store, wake: Arc<Notify>) {
    let queue_url = trigger.queue_url.clone().unwrap_or_default();
    let filter = trigger.filter();
    let mut failures = 0u32;
    loop {
        let received = client
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(trigger.wait_seconds.unwrap_or(20))
            .send()
            .await;
        let messages = match received {
            Ok(out) => {
                if failures > 0 {
                    tracing::info!(trigger = %trigger.name, "receiving from {} again", queue_url);
                }
                failures = 0;
                out.messages.unwrap_or_default()
            }
            Err(e) => {
                // Backoff 1 s, 2 s, 4 s ... 60 s; logged on the first failure and every tenth.
                if failures.is_multiple_of(10) {
                    tracing::warn!(
                        trigger = %trigger.name,
                        "cannot receive from {}: {}",
                        queue_url,
                        aws_sdk_sqs::error::DisplayErrorContext(&e)
                    );
                }
                let delay = Duration::from_secs(1u64 << failures.min(6)).min(Duration::from_secs(60));
                failures += 1;
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        for message in messages {
            let id = message.message_id().unwrap_or("?").to_string();
            let body = message.body().unwrap_or_default();
            let acknowledge = match crate::s3event::parse(body) {
                Err(e) => {
                    let shown: String = body.chars().take(2000).collect();
                    tracing::error!(trigger = %trigger.name, message = %id, "dropped a message that is not an S3 event ({e}): {shown}");
                    true
                }
                Ok(parsed) => match queue_objects(&store, &trigger.name, &filter, parsed.objects, &env).await {
                    Ok((queued, _, skipped)) => {
                        for reason in parsed.skipped.iter().chain(&skipped) {
                            tracing::info!(trigger = %trigger.name, message = %id, "skipped: {reason}");
                        }
                        if !queued.is_empty() {
                            wake.notify_waiters();
                        }
                        true
                    }
                    Err(e) => {
                        tracing::error!(trigger = %trigger.name, message = %id, "cannot queue runs (the message stays on the queue): {e}");
                        false
                    }
                },
            };
            if acknowledge
                && let Some(handle) = message.receipt_handle()
                && let Err(e) = client.delete_message().queue_url(&queue_url).receipt_handle(handle).send().await
            {
                // Redelivered later: a duplicate of the runs already queued.
                tracing::warn!(
                    trigger = %trigger.name,
                    message = %id,
                    "cannot delete the message: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                );
            }
        }
    }
}

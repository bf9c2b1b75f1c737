//! RecordStreamEvent and GetStreamAnalytics. Events are added to the per-minute
//! `stream_metrics` row of the minute they happened in by one upsert (no read, no lost
//! count); chat messages and joins land in the same rows from their own RPCs. Analytics read
//! those rows plus aggregates of the viewer sessions.

use nova_runtime::codegen::chrono::{Duration, Utc};
use nova_runtime::codegen::prost_types;
use nova_runtime::convert::timestamp;
use nova_runtime::identity::Principal;
use nova_streaming::repo::streams::Status;
use nova_streaming::{LogicError, pb};

use crate::sql::MetricsDelta;
use crate::{StreamingLogic, convert, sql};

/// How far from the server's clock an event's `occurred_at` may be (in the proto).
const MAX_SKEW_SECONDS: i64 = 300;

impl StreamingLogic {
    pub(crate) async fn record_event(&self, request: pb::RecordStreamEventRequest) -> Result<pb::RecordStreamEventResponse, LogicError> {
        let stream_id = convert::stream_id(&request.stream_id)?;
        let mut delta = MetricsDelta::default();
        match pb::StreamEventType::try_from(request.event_type) {
            Ok(pb::StreamEventType::Reaction) => delta.reactions = 1,
            Ok(pb::StreamEventType::Share) => delta.shares = 1,
            Ok(pb::StreamEventType::Buffering) => delta.buffering = 1,
            Ok(pb::StreamEventType::PlaybackError) => delta.playback_errors = 1,
            Ok(pb::StreamEventType::Unspecified) | Err(_) => {
                return Err(LogicError::invalid_argument(format!("event_type: {} is not a StreamEventType", request.event_type)));
            }
        }
        convert::optional_uuid("viewer_id", &request.viewer_id)?;
        let now = Utc::now();
        let at = convert::optional_time("occurred_at", request.occurred_at.as_ref())?.unwrap_or(now);
        if (at - now).num_seconds().abs() > MAX_SKEW_SECONDS {
            return Err(LogicError::invalid_argument(format!("occurred_at must be within {MAX_SKEW_SECONDS} seconds of now")));
        }
        self.stream(stream_id).await?;
        sql::add_metrics(&self.db, stream_id, at, delta).await?;
        Ok(pb::RecordStreamEventResponse {})
    }

    pub(crate) async fn analytics(
        &self,
        principal: &Principal,
        request: pb::GetStreamAnalyticsRequest,
    ) -> Result<pb::GetStreamAnalyticsResponse, LogicError> {
        let stream_id = convert::stream_id(&request.stream_id)?;
        let stream = self.creators_stream(principal, stream_id, "read its analytics").await?;
        let (total_views, unique_viewers, average_seconds) = sql::view_totals(&self.db, stream_id).await?;
        let (chat_message_count, reaction_count, share_count) = sql::metric_totals(&self.db, stream_id).await?;
        let timeline = sql::timeline(&self.db, stream_id).await?;
        let live = match (stream.started_at, stream.ended_at, stream.status) {
            (Some(start), Some(end), _) => end - start,
            (Some(start), None, Status::Live) => Utc::now() - start,
            _ => Duration::zero(),
        };
        Ok(pb::GetStreamAnalyticsResponse {
            analytics: Some(pb::StreamAnalytics {
                stream_id: stream_id.to_string(),
                total_views,
                unique_viewers,
                peak_concurrent_viewers: stream.peak_viewer_count,
                average_watch_time: Some(duration_of_seconds(average_seconds)),
                live_duration: Some(duration(live)),
                chat_message_count,
                reaction_count,
                share_count,
                timeline: timeline
                    .iter()
                    .map(|m| pb::StreamMetricsBucket {
                        bucket_start: Some(timestamp(m.bucket_start)),
                        viewer_count: m.viewer_count,
                        chat_message_count: m.chat_message_count,
                        reaction_count: m.reaction_count,
                        share_count: m.share_count,
                        buffering_count: m.buffering_count,
                        playback_error_count: m.playback_error_count,
                    })
                    .collect(),
            }),
        })
    }
}

fn duration(value: Duration) -> prost_types::Duration {
    let value = value.max(Duration::zero());
    prost_types::Duration { seconds: value.num_seconds(), nanos: value.subsec_nanos() }
}

fn duration_of_seconds(seconds: f64) -> prost_types::Duration {
    let seconds = if seconds.is_finite() { seconds.max(0.0) } else { 0.0 };
    let whole = seconds.trunc();
    // Both conversions are in range: `whole` is a non-negative session length in seconds and
    // the fraction is below one second.
    #[allow(clippy::cast_possible_truncation)]
    prost_types::Duration { seconds: whole as i64, nanos: ((seconds - whole) * 1e9) as i32 }
}

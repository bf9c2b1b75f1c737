//! Settings: the defaults for a user without a row, and the validated full replacement of
//! UpdateUserSettings (an upsert: the default row is ensured, then every field written, in
//! one transaction).

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, quote, text, timestamp};
use nova_user::repo::user_settings::{self, DirectMessagePolicy, Row};
use nova_user::{LogicError, pb};

/// The settings of a user who never changed them (the column defaults of `user_settings`);
/// `updated_at` is unset.
pub fn defaults(user_id: Uuid) -> pb::UserSettings {
    pb::UserSettings {
        user_id: user_id.to_string(),
        email_notifications: true,
        push_notifications: true,
        direct_message_policy: pb::DirectMessagePolicy::Everyone as i32,
        show_online_status: true,
        language: "en".to_string(),
        time_zone: "UTC".to_string(),
        updated_at: None,
    }
}

/// The proto of stored settings.
pub fn to_proto(row: &Row) -> pb::UserSettings {
    pb::UserSettings {
        user_id: row.user_id.to_string(),
        email_notifications: row.email_notifications,
        push_notifications: row.push_notifications,
        direct_message_policy: pb::DirectMessagePolicy::from(row.direct_message_policy) as i32,
        show_online_status: row.show_online_status,
        language: row.language.clone(),
        time_zone: row.time_zone.clone(),
        updated_at: Some(timestamp(row.updated_at)),
    }
}

/// An UpdateUserSettings request, validated: whose settings and the patch writing all of them.
pub fn parse_update(request: pb::UpdateUserSettingsRequest) -> Result<(Uuid, user_settings::Patch), LogicError> {
    let Some(settings) = request.settings else {
        return Err(LogicError::invalid_argument("settings is required"));
    };
    let user_id = parse_uuid("settings.user_id", &settings.user_id)?;
    let policy = match pb::DirectMessagePolicy::try_from(settings.direct_message_policy) {
        Ok(pb::DirectMessagePolicy::Unspecified) | Err(_) => {
            return Err(LogicError::invalid_argument(format!(
                "settings.direct_message_policy must be EVERYONE, FOLLOWING or NOBODY, got {}",
                settings.direct_message_policy
            )));
        }
        Ok(known) => DirectMessagePolicy::try_from(known)
            .map_err(|v| LogicError::invalid_argument(format!("settings.direct_message_policy: {} is not supported", v.as_str_name())))?,
    };
    let language = text("settings.language", &settings.language)?;
    if !is_language_tag(language) {
        return Err(LogicError::invalid_argument(format!(
            "settings.language must be a BCP 47 language tag such as \"en\" or \"zh-Hans\", got {}",
            quote(language)
        )));
    }
    let time_zone = text("settings.time_zone", &settings.time_zone)?;
    if !is_time_zone_name(time_zone) {
        return Err(LogicError::invalid_argument(format!(
            "settings.time_zone must be an IANA time zone name such as \"Asia/Shanghai\", got {}",
            quote(time_zone)
        )));
    }
    let patch = user_settings::Patch {
        email_notifications: Some(settings.email_notifications),
        push_notifications: Some(settings.push_notifications),
        direct_message_policy: Some(policy),
        show_online_status: Some(settings.show_online_status),
        language: Some(language.to_string()),
        time_zone: Some(time_zone.to_string()),
    };
    Ok((user_id, patch))
}

/// The shape of a BCP 47 tag: a 2-3 letter (or 4-8 letter registered) language subtag, then
/// subtags of 1-8 letters or digits. The shape only: no registry of languages is consulted.
fn is_language_tag(tag: &str) -> bool {
    let mut subtags = tag.split('-');
    let language_ok = subtags.next().is_some_and(|first| (2..=8).contains(&first.len()) && first.chars().all(|c| c.is_ascii_alphabetic()));
    language_ok && tag.len() <= 35 && subtags.all(|s| (1..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The shape of an IANA time zone name: `UTC`, or `Area/Location[/Sub]` parts starting with a
/// letter, made of letters, digits, `_`, `-` and `+`. The shape only: the tz database is not
/// consulted (this service has no copy of it).
fn is_time_zone_name(name: &str) -> bool {
    let part_ok = |p: &str| {
        p.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && p.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
    };
    (1..=64).contains(&name.len()) && name.split('/').count() <= 3 && name.split('/').all(part_ok)
}

impl crate::UserLogic {
    pub(crate) async fn get_settings(&self, request: pb::GetUserSettingsRequest) -> Result<pb::GetUserSettingsResponse, LogicError> {
        let id = parse_uuid("user_id", &request.user_id)?;
        self.profile(id, "user_id").await?;
        let settings = match user_settings::get(&self.db, id).await? {
            Some(row) => to_proto(&row),
            None => defaults(id),
        };
        Ok(pb::GetUserSettingsResponse { settings: Some(settings) })
    }

    pub(crate) async fn update_settings(&self, request: pb::UpdateUserSettingsRequest) -> Result<pb::UpdateUserSettingsResponse, LogicError> {
        let (id, patch) = parse_update(request)?;
        self.profile(id, "settings.user_id").await?;
        let mut tx = self.db.begin().await.map_err(|e| LogicError::internal("starting a transaction", e))?;
        crate::sql::insert_default_settings(&mut tx, id).await?;
        let row = user_settings::update(&mut *tx, id, &patch).await?;
        tx.commit().await.map_err(|e| LogicError::internal("committing the settings", e))?;
        self.invalidator.entity(&id.to_string()).await;
        Ok(pb::UpdateUserSettingsResponse { settings: Some(to_proto(&row)) })
    }
}

#[cfg(test)]
mod tests {
    use super::{is_language_tag, is_time_zone_name};

    #[test]
    fn language_tags_and_time_zones_have_their_shape() {
        for good in ["en", "zh-Hans", "pt-BR", "sr-Latn-RS", "es-419"] {
            assert!(is_language_tag(good), "{good}");
        }
        for bad in ["", "e", "english language", "en_US", "en--US", "123"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
        for good in ["UTC", "Asia/Shanghai", "America/Argentina/Buenos_Aires", "Etc/GMT+8"] {
            assert!(is_time_zone_name(good), "{good}");
        }
        for bad in ["", "Asia/", "/UTC", "Asia Shanghai", "../etc/passwd", "1/2"] {
            assert!(!is_time_zone_name(bad), "{bad}");
        }
    }
}

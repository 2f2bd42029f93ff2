//! Tags: TagResource, UntagResource, ListResourceTags, and the tag rules CreateKey shares.

use std::collections::HashSet;

use kms_api::types::{
    ListRequest, ListResourceTagsResponse, Tag, TagResourceRequest, UntagResourceRequest,
};
use kms_api::{ErrorCode, KmsError};

use super::keys::require_key_id;
use super::validate::Validator;
use super::{encode_marker, page_params, require_not_pending_deletion, Ctx, KeyIdForms};
use crate::authz::context::RequestFacts;
use crate::authz::Action;

/// Most tags on one key.
pub const MAX_TAGS_PER_KEY: usize = 50;

fn tag_error(message: &str) -> KmsError {
    KmsError::new(ErrorCode::TagException, message)
}

/// Checks member constraints of a `Tags` list.
pub fn validate_members(v: &mut Validator, tags: &[Tag]) {
    for (i, tag) in tags.iter().enumerate() {
        let n = i + 1;
        if v.required(&format!("tags.{n}.member.tagKey"), &tag.tag_key) {
            if let Some(key) = &tag.tag_key {
                v.length(&format!("tags.{n}.member.tagKey"), key, 1, 128);
            }
        }
        if v.required(&format!("tags.{n}.member.tagValue"), &tag.tag_value) {
            if let Some(value) = &tag.tag_value {
                v.length(&format!("tags.{n}.member.tagValue"), value, 0, 256);
            }
        }
    }
}

fn is_reserved(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
}

/// Adds or replaces `new` tags on `existing` (order of first addition is kept).
///
/// # Errors
/// `TagException` for duplicate keys in `new`, reserved `aws:` keys, or more than 50 tags.
pub fn merge(
    existing: &[(String, String)],
    new: &[Tag],
) -> Result<Vec<(String, String)>, KmsError> {
    let mut seen = HashSet::new();
    for tag in new {
        let key = tag.tag_key.as_deref().unwrap_or_default();
        if !seen.insert(key) {
            return Err(tag_error("Duplicate tag keys"));
        }
        if is_reserved(key) {
            return Err(tag_error("Tags beginning with aws: are reserved"));
        }
    }
    let mut merged = existing.to_vec();
    for tag in new {
        let key = tag.tag_key.clone().unwrap_or_default();
        let value = tag.tag_value.clone().unwrap_or_default();
        match merged.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => merged.push((key, value)),
        }
    }
    if merged.len() > MAX_TAGS_PER_KEY {
        return Err(tag_error("Too many tags"));
    }
    Ok(merged)
}

/// TagResource.
///
/// # Errors
/// `ValidationException`, `TagException`, `NotFoundException`, `KMSInvalidStateException`.
pub async fn tag_resource(ctx: &Ctx<'_>, req: TagResourceRequest) -> Result<(), KmsError> {
    let key_id = require_key_id(&req.key_id, |v| {
        if v.required("tags", &req.tags) {
            validate_members(v, req.tags.as_deref().unwrap_or_default());
        }
    })?;
    let new = req.tags.unwrap_or_default();
    let request_tags: Vec<(String, String)> = new
        .iter()
        .map(|t| (t.tag_key.clone().unwrap_or_default(), t.tag_value.clone().unwrap_or_default()))
        .collect();
    let facts = RequestFacts {
        request_tags: Some(&request_tags),
        tag_keys: Some(request_tags.iter().map(|(k, _)| k.as_str()).collect()),
        ..RequestFacts::default()
    };
    ctx.mutate_id_with(key_id, Action::TagResource, &facts, |record| {
        require_not_pending_deletion(record)?;
        record.tags = merge(&record.tags, &new)?;
        Ok(())
    })
    .await?;
    Ok(())
}

/// UntagResource: keys that are not present are ignored.
///
/// # Errors
/// `ValidationException`, `NotFoundException`, `KMSInvalidStateException`.
pub async fn untag_resource(ctx: &Ctx<'_>, req: UntagResourceRequest) -> Result<(), KmsError> {
    let key_id = require_key_id(&req.key_id, |v| {
        if v.required("tagKeys", &req.tag_keys) {
            for (i, key) in req.tag_keys.iter().flatten().enumerate() {
                v.length(&format!("tagKeys.{}.member", i + 1), key, 1, 128);
            }
        }
    })?;
    let remove: HashSet<String> = req.tag_keys.unwrap_or_default().into_iter().collect();
    if remove.iter().any(|k| is_reserved(k)) {
        return Err(tag_error("Tags beginning with aws: are reserved"));
    }
    let facts = RequestFacts {
        tag_keys: Some(remove.iter().map(String::as_str).collect()),
        ..RequestFacts::default()
    };
    ctx.mutate_id_with(key_id, Action::UntagResource, &facts, |record| {
        require_not_pending_deletion(record)?;
        record.tags.retain(|(k, _)| !remove.contains(k));
        Ok(())
    })
    .await?;
    Ok(())
}

/// ListResourceTags.
///
/// # Errors
/// `ValidationException`, `NotFoundException`, `InvalidMarkerException`.
pub async fn list_resource_tags(
    ctx: &Ctx<'_>,
    req: ListRequest,
) -> Result<ListResourceTagsResponse, KmsError> {
    let key_id = require_key_id(&req.key_id, |_| {})?;
    let (limit, after) = page_params(req.limit, req.marker.as_deref(), 50, 50)?;
    let record = ctx.find(key_id, KeyIdForms::KeyOnly, Action::ListResourceTags).await?;
    let start = match &after {
        Some(last) => match record.tags.iter().position(|(k, _)| k == last) {
            Some(i) => i + 1,
            None => return Err(KmsError::new(ErrorCode::InvalidMarkerException, "Invalid marker")),
        },
        None => 0,
    };
    let page: Vec<&(String, String)> = record.tags.iter().skip(start).take(limit).collect();
    let truncated = start + page.len() < record.tags.len();
    let next_marker = if truncated { page.last().map(|(k, _)| encode_marker(k)) } else { None };
    let tags = page
        .into_iter()
        .map(|(k, v)| Tag { tag_key: Some(k.clone()), tag_value: Some(v.clone()) })
        .collect();
    Ok(ListResourceTagsResponse { tags: Some(tags), next_marker, truncated: Some(truncated) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag { tag_key: Some(k.into()), tag_value: Some(v.into()) }
    }

    #[test]
    fn merge_replaces_values_and_keeps_order() {
        let existing = vec![("a".to_owned(), "1".to_owned()), ("b".to_owned(), "2".to_owned())];
        let merged = merge(&existing, &[tag("b", "3"), tag("c", "4")]).unwrap();
        assert_eq!(
            merged,
            vec![("a".into(), "1".into()), ("b".into(), "3".into()), ("c".into(), "4".into())]
        );
    }

    #[test]
    fn merge_enforces_aws_tag_rules() {
        assert_eq!(
            merge(&[], &[tag("a", "1"), tag("a", "2")]).unwrap_err().message.unwrap(),
            "Duplicate tag keys"
        );
        assert_eq!(
            merge(&[], &[tag("AWS:x", "1")]).unwrap_err().message.unwrap(),
            "Tags beginning with aws: are reserved"
        );
        let many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert_eq!(merge(&[], &many).unwrap_err().message.unwrap(), "Too many tags");
        assert!(merge(&[], &many[..50]).is_ok());
    }
}

//! The IAM actions this server offers (users, access keys, roles, inline policies, tags).
//! Each works in the caller's account and is authorized by the caller's identity
//! policies (`iam:<Action>` on the user or role ARN); account roots may do everything.

use std::collections::BTreeMap;

use super::query::{
    element, is_reserved_server_tag, members, tag_chars_ok, tags_xml, url_encode, Params, QueryCtx,
    QueryError,
};
use super::{random_id, random_secret, AccessKeyRecord, KeyOwner, Role, User};
use crate::auth::{service_host_of_tag, PrincipalKind, AWS_SERVICE_TAG};
use crate::authz::condition::format_date;
use crate::authz::context::RequestFacts;
use crate::authz::evaluate::evaluate_named;
use crate::authz::policy::{Policy, PolicyKind};
use crate::store::StoreError;

/// Access keys a user may have (AWS's quota).
pub const ACCESS_KEYS_PER_USER: usize = 2;
/// Tags per user or role (AWS's quota).
pub const TAGS_MAX: usize = 50;
/// Largest inline policy, in characters (AWS's user policy quota).
pub const INLINE_POLICY_MAX_CHARS: usize = 10_240;

/// Runs one IAM action and returns the inside of its `<…Result>` element (empty for
/// actions without output).
///
/// # Errors
/// [`QueryError`] with IAM's codes.
pub async fn dispatch(ctx: &QueryCtx<'_>, action: &str, p: &Params) -> Result<String, QueryError> {
    match action {
        "CreateUser" => create_user(ctx, p).await,
        "GetUser" => get_user(ctx, p),
        "DeleteUser" => delete_user(ctx, p).await,
        "ListUsers" => list_users(ctx, p),
        "CreateAccessKey" => create_access_key(ctx, p).await,
        "DeleteAccessKey" => delete_access_key(ctx, p).await,
        "ListAccessKeys" => list_access_keys(ctx, p),
        "CreateRole" => create_role(ctx, p).await,
        "GetRole" => get_role(ctx, p),
        "DeleteRole" => delete_role(ctx, p).await,
        "PutUserPolicy" | "PutRolePolicy" => put_policy(ctx, p, action == "PutUserPolicy").await,
        "GetUserPolicy" | "GetRolePolicy" => get_policy(ctx, p, action == "GetUserPolicy"),
        "DeleteUserPolicy" | "DeleteRolePolicy" => {
            delete_policy(ctx, p, action == "DeleteUserPolicy").await
        }
        "TagUser" | "TagRole" => tag(ctx, p, action == "TagUser").await,
        "UntagUser" | "UntagRole" => untag(ctx, p, action == "UntagUser").await,
        "" => Err(QueryError::new(400, "MissingAction", "Missing Action")),
        other => Err(QueryError::new(
            400,
            "InvalidAction",
            format!("Could not find operation {other} for version 2010-05-08"),
        )),
    }
}

fn account<'a>(ctx: &QueryCtx<'a>) -> &'a str {
    &ctx.caller.account
}

/// Checks `iam:<action>` on `resource` against the caller's identity policies.
fn authorize(ctx: &QueryCtx<'_>, action: &str, resource: &str) -> Result<(), QueryError> {
    authorize_with(ctx, action, resource, &RequestFacts::default())
}

/// [`authorize`] for a request that sets tags (`aws:RequestTag/<k>`, `aws:TagKeys`), which
/// also needs the account root for this server's own `kms-server:` tags.
fn authorize_tagging(
    ctx: &QueryCtx<'_>,
    action: &str,
    resource: &str,
    tags: &[(String, String)],
) -> Result<(), QueryError> {
    let facts = RequestFacts {
        request_tags: Some(tags),
        tag_keys: Some(tags.iter().map(|(k, _)| k.as_str()).collect()),
        ..RequestFacts::default()
    };
    authorize_with(ctx, action, resource, &facts)?;
    reserved_tags_need_root(ctx, tags.iter().map(|(k, _)| k.as_str()))
}

/// `kms-server:` tags (e.g. the one that makes a principal an integrated service's) are set
/// and removed by the account root only, whatever IAM policies allow.
fn reserved_tags_need_root<'a>(
    ctx: &QueryCtx<'_>,
    mut keys: impl Iterator<Item = &'a str>,
) -> Result<(), QueryError> {
    match keys.find(|k| is_reserved_server_tag(k)) {
        Some(key) if !matches!(ctx.caller.kind, PrincipalKind::Root) => {
            Err(QueryError::access_denied(format!(
                "User: {} is not authorized to set or remove the tag {key}: kms-server: tags are set by the account's root user only",
                ctx.caller.arn
            )))
        }
        _ => Ok(()),
    }
}

fn authorize_with(
    ctx: &QueryCtx<'_>,
    action: &str,
    resource: &str,
    facts: &RequestFacts<'_>,
) -> Result<(), QueryError> {
    let name = format!("iam:{action}");
    let decision = evaluate_named(ctx.caller, &name, resource, None, None, facts);
    if decision.allowed {
        Ok(())
    } else {
        Err(QueryError::access_denied(decision.denial_message_named(ctx.caller, &name, resource)))
    }
}

fn check_name(member: &str, value: &str, max: usize) -> Result<(), QueryError> {
    let ok = !value.is_empty()
        && value.chars().count() <= max
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(QueryError::validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and {max}"
        )))
    }
}

fn check_path(path: &str) -> Result<(), QueryError> {
    let ok =
        path.starts_with('/') && path.ends_with('/') && path.len() <= 512 && !path.contains("//")
            || path == "/";
    if ok {
        Ok(())
    } else {
        Err(QueryError::validation(format!(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters: {path}"
        )))
    }
}

fn check_tags(tags: &[(String, String)]) -> Result<(), QueryError> {
    if tags.len() > TAGS_MAX {
        return Err(QueryError::new(
            409,
            "LimitExceeded",
            format!("Cannot exceed quota for TagsPerEntity: {TAGS_MAX}"),
        ));
    }
    for (i, (k, v)) in tags.iter().enumerate() {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(QueryError::validation(format!(
                "Invalid tag '{k}': keys are 1 to 128 characters, values up to 256"
            )));
        }
        if !tag_chars_ok(k) || !tag_chars_ok(v) {
            return Err(QueryError::validation(format!(
                "Invalid tag '{k}': keys and values may hold letters, digits, spaces and _.:/=+-@ only"
            )));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(QueryError::validation("Tag keys beginning with aws: are reserved"));
        }
        if k.eq_ignore_ascii_case(AWS_SERVICE_TAG) && service_host_of_tag(v).is_none() {
            return Err(QueryError::validation(format!(
                "Invalid {AWS_SERVICE_TAG} tag value '{v}': it must name a service as <service>.amazonaws.com, e.g. ec2.amazonaws.com"
            )));
        }
        if tags[..i].iter().any(|(other, _)| other.eq_ignore_ascii_case(k)) {
            return Err(QueryError::validation(format!(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive: {k}"
            )));
        }
    }
    Ok(())
}

fn merge_tags(existing: &mut Vec<(String, String)>, new: Vec<(String, String)>) {
    for (k, v) in new {
        match existing.iter_mut().find(|(ek, _)| ek.eq_ignore_ascii_case(&k)) {
            Some(slot) => slot.1 = v,
            None => existing.push((k, v)),
        }
    }
}

fn user_xml(user: &User) -> String {
    format!(
        "{}{}{}{}{}{}",
        element("Path", &user.path),
        element("UserName", &user.name),
        element("UserId", &user.user_id),
        element("Arn", &user.arn()),
        element("CreateDate", &format_date(user.created_ms)),
        tags_xml(&user.tags)
    )
}

fn role_xml(role: &Role) -> String {
    format!(
        "{}{}{}{}{}{}{}{}{}",
        element("Path", &role.path),
        element("RoleName", &role.name),
        element("RoleId", &role.role_id),
        element("Arn", &role.arn()),
        element("CreateDate", &format_date(role.created_ms)),
        element("AssumeRolePolicyDocument", &url_encode(&role.trust_policy)),
        role.description.as_deref().map(|d| element("Description", d)).unwrap_or_default(),
        element("MaxSessionDuration", &role.max_session_s.to_string()),
        tags_xml(&role.tags)
    )
}

fn no_user(name: &str) -> QueryError {
    QueryError::no_such_entity(format!("The user with name {name} cannot be found."))
}

fn no_role(name: &str) -> QueryError {
    QueryError::no_such_entity(format!("The role with name {name} cannot be found."))
}

fn user_arn(ctx: &QueryCtx<'_>, name: &str) -> String {
    format!("arn:aws:iam::{}:user/{name}", account(ctx))
}

fn role_arn(ctx: &QueryCtx<'_>, name: &str) -> String {
    format!("arn:aws:iam::{}:role/{name}", account(ctx))
}

fn random(prefix: &str) -> Result<String, QueryError> {
    random_id(prefix, 17).map_err(|e| QueryError::internal("random generator failed", e))
}

async fn create_user(ctx: &QueryCtx<'_>, p: &Params) -> Result<String, QueryError> {
    let name = p.required("UserName")?;
    check_name("userName", name, 64)?;
    let path = p.get("Path").unwrap_or("/");
    check_path(path)?;
    let tags = p.tags("Tags")?;
    check_tags(&tags)?;
    // As AWS: creating with tags is also tagging.
    authorize_tagging(ctx, "CreateUser", &user_arn(ctx, name), &tags)?;
    if !tags.is_empty() {
        authorize_tagging(ctx, "TagUser", &user_arn(ctx, name), &tags)?;
    }
    if ctx.state.accounts.iam.users(account(ctx)).iter().any(|u| u.name.eq_ignore_ascii_case(name))
    {
        return Err(QueryError::new(
            409,
            "EntityAlreadyExists",
            format!("User with name {name} already exists."),
        ));
    }
    let user = User {
        account: account(ctx).to_owned(),
        name: name.to_owned(),
        path: path.to_owned(),
        user_id: random("AIDA")?,
        created_ms: ctx.state.clock.now_ms(),
        tags,
        policies: BTreeMap::new(),
    };
    let xml = format!("<User>{}</User>", user_xml(&user));
    match ctx.state.accounts.iam.insert_user(&*ctx.state.store, user).await {
        Err(super::DirectoryError::Store(StoreError::AlreadyExists)) => Err(QueryError::new(
            409,
            "EntityAlreadyExists",
            format!("User with name {name} already exists."),
        )),
        other => other.map(|()| xml).map_err(Into::into),
    }
}

fn get_user(ctx: &QueryCtx<'_>, p: &Params) -> Result<String, QueryError> {
    let name = match (p.get("UserName"), &ctx.caller.kind) {
        (Some(name), _) => name.to_owned(),
        (None, PrincipalKind::User { name }) => name.clone(),
        (None, _) => {
            return Err(QueryError::validation(
                "Must specify userName when calling with non-User credentials",
            ))
        }
    };
    authorize(ctx, "GetUser", &user_arn(ctx, &name))?;
    let user = ctx.state.accounts.iam.user(account(ctx), &name).ok_or_else(|| no_user(&name))?;
    Ok(format!("<User>{}</User>", user_xml(&user)))
}

async fn delete_user(ctx: &QueryCtx<'_>, p: &Params) -> Result<String, QueryError> {
    let name = p.required("UserName")?;
    authorize(ctx, "DeleteUser", &user_arn(ctx, name))?;
    let iam = &ctx.state.accounts.iam;
    let user = iam.user(account(ctx), name).ok_or_else(|| no_user(name))?;
    if !iam.user_keys(account(ctx), name).is_empty() {
        return Err(QueryError::new(
            409,
            "DeleteConflict",
            "Cannot delete entity, must delete access keys first.",
        ));
    }
    if !user.policies.is_empty() {
        return Err(QueryError::new(
            409,
            "DeleteConflict",
            "Cannot delete entity, must delete policies first.",
        ));
    }
    iam.delete_user(&*ctx.state.store, account(ctx), name).await?;
    Ok(String::new())
}

fn list_users(ctx: &QueryCtx<'_>, p: &Params) -> Result<String, QueryError> {
    authorize(ctx, "ListUsers", &format!("arn:aws:iam::{}:user/", account(ctx)))?;
    let prefix = p.get("PathPrefix").unwrap_or("/");
    let max_items = match p.get("MaxItems") {
        None => 100,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| QueryError::validation("MaxItems must be between 1 and 1000"))?,
    };
    let after = p.get("Marker");
    let users = ctx.state.accounts.iam.users(account(ctx));
    let mut page: Vec<&User> = users
        .iter()
        .filter(|u| u.path.starts_with(prefix))
        .filter(|u| after.is_none_or(|m| u.name.as_str() > m))
        .take(max_items + 1)
        .collect();
    let truncated = page.len() > max_items;
    page.truncate(max_items);
    let list = members("Users", page.iter().map(|u| user_xml(u)));
    let marker = match (truncated, page.last()) {
        (true, Some(last)) => element("Marker", &last.name),
        _ => String::new(),
    };
    Ok(format!("{list}<IsTruncated>{truncated}</IsTruncated>{marker}"))
}

/// The user an access-key action names: `UserName`, or the calling user.
fn key_user(ctx: &QueryCtx<'_>, p: &Params) -> Result<String, QueryError> {
    match (p.get("UserName"), &ctx.caller.kind) {
        (Some(name), _) => Ok(name.to_owned()),
        (None, PrincipalKind::User { name }) => Ok(name.clone()),
        (None, _) => Err(QueryError::validation(
            "the account root's access keys come from the configuration file; name a UserName",
        )),
    }
}

async fn create_access_key(ctx: &QueryCtx<'_>, p: &Params) -> Result<String, QueryError> {
    let name = key_user(ctx, p)?;
    authorize(ctx, "CreateAccessKey", &user_arn(ctx, &name))?;
    let iam = &ctx.state.accounts.iam;
    iam.user(account(ctx), &name).ok_or_else(|| no_user(&name))?;
    if iam.user_keys(account(ctx), &name).len() >= ACCESS_KEYS_PER_USER {
        return Err(QueryError::new(
            409,
            "LimitExceeded",
            format!("Cannot exceed quota for AccessKeysPerUser: {ACCESS_KEYS_PER_USER}"),
        ));
    }
    let secret =
        random_secret(40).map_err(|e| QueryError::internal("random generator failed", e))?;
    let record = AccessKeyRecord {
        access_key_id: random("AKIA")?,
        account: account(ctx).to_owned(),
        owner: KeyOwner::User { name: name.clone() },
        sealed_secret: String::new(),
        status: "Active".to_owned(),
        created_ms: ctx.state.clock.now_ms(),
    };
    // The secret is shown once, in this response, as AWS does.
    let xml = format!(
        "<AccessKey>{}{}{}{}{}</AccessKey>",
        element("UserName", &name),
        element("AccessKeyId", &record.access_key_id),
        element("Status", &record.status),
        element("SecretAccessKey", secret.expose_secret()),
        element("CreateDate", &format_date(record.created_ms))
    );
    iam.insert_key(&*ctx.state.store, &ctx.state.keystore, record, secret).await?;
    Ok(xml)
}

async fn delete_access_key(ctx: &QueryCtx<'_>, p: &Params) -> Result<String, QueryError> {
    let key_id = p.required("AccessKeyId")?;
    let name = key_user(ctx, p)?;
    authorize(ctx, "DeleteAccessKey", &user_arn(ctx, &name))?;
    let iam = &ctx.state.accounts.iam;
    if !iam.user_keys(account(ctx), &name).iter().any(|k| k.access_key_id == key_id) {
        return Err(QueryError::no_such_entity(format!(
            "The Access Key with id {key_id} cannot be found."
        )));
    }
    iam.delete_key(&*ctx.state.store, key_id).await?;
    Ok(String::new())
}

fn list_access_keys(ctx: &QueryCtx<'_>, p: &Params) -> Result<String, QueryError> {
    let name = key_user(ctx, p)?;
    authorize(ctx, "ListAccessKeys", &user_arn(ctx, &name))?;
    let iam = &ctx.state.accounts.iam;
    iam.user(account(ctx), &name).ok_or_else(|| no_user(&name))?;
    let keys = iam.user_keys(account(ctx), &name);
    let list = members(
        "AccessKeyMetadata",
        keys.iter().map(|k| {
            format!(
                "{}{}{}{}",
                element("UserName", &name),
                element("AccessKeyId", &k.access_key_id),
                element("Status", &k.status),
                element("CreateDate", &format_date(k.created_ms))
            )
        }),
    );
    Ok(format!("{list}<IsTruncated>false</IsTruncated>"))
}

fn malformed(e: impl std::fmt::Display) -> QueryError {
    QueryError::new(400, "MalformedPolicyDocument", e.to_string())
}

async fn create_role(ctx: &QueryCtx<'_>, p: &Params) -> Result<String, QueryError> {
    let name = p.required("RoleName")?;
    check_name("roleName", name, 64)?;
    let trust = p.required("AssumeRolePolicyDocument")?;
    let path = p.get("Path").unwrap_or("/");
    check_path(path)?;
    let tags = p.tags("Tags")?;
    check_tags(&tags)?;
    let max_session_s = match p.get("MaxSessionDuration") {
        None => 3600,
        Some(v) => {
            v.parse::<i64>().ok().filter(|s| (3600..=43_200).contains(s)).ok_or_else(|| {
                QueryError::validation("MaxSessionDuration must be between 3600 and 43200 seconds")
            })?
        }
    };
    Policy::parse(trust, PolicyKind::Trust).map_err(malformed)?;
    authorize_tagging(ctx, "CreateRole", &role_arn(ctx, name), &tags)?;
    if !tags.is_empty() {
        authorize_tagging(ctx, "TagRole", &role_arn(ctx, name), &tags)?;
    }
    let iam = &ctx.state.accounts.iam;
    if iam.role(account(ctx), name).is_some() {
        return Err(QueryError::new(
            409,
            "EntityAlreadyExists",
            format!("Role with name {name} already exists."),
        ));
    }
    let role = Role {
        account: account(ctx).to_owned(),
        name: name.to_owned(),
        path: path.to_owned(),
        role_id: random("AROA")?,
        created_ms: ctx.state.clock.now_ms(),
        trust_policy: trust.to_owned(),
        description: p.get("Description").map(str::to_owned),
        max_session_s,
        tags,
        policies: BTreeMap::new(),
    };
    let xml = format!("<Role>{}</Role>", role_xml(&role));
    iam.insert_role(&*ctx.state.store, role).await?;
    Ok(xml)
}

fn get_role(ctx: &QueryCtx<'_>, p: &Params) -> Result<String, QueryError> {
    let name = p.required("RoleName")?;
    authorize(ctx, "GetRole", &role_arn(ctx, name))?;
    let role = ctx.state.accounts.iam.role(account(ctx), name).ok_or_else(|| no_role(name))?;
    Ok(format!("<Role>{}</Role>", role_xml(&role)))
}

async fn delete_role(ctx: &QueryCtx<'_>, p: &Params) -> Result<String, QueryError> {
    let name = p.required("RoleName")?;
    authorize(ctx, "DeleteRole", &role_arn(ctx, name))?;
    let iam = &ctx.state.accounts.iam;
    let role = iam.role(account(ctx), name).ok_or_else(|| no_role(name))?;
    if !role.policies.is_empty() {
        return Err(QueryError::new(
            409,
            "DeleteConflict",
            "Cannot delete entity, must delete policies first.",
        ));
    }
    iam.delete_role(&*ctx.state.store, account(ctx), name).await?;
    Ok(String::new())
}

/// The user or role an inline-policy or tag action names.
enum Target {
    User(User),
    Role(Role),
}

fn target(ctx: &QueryCtx<'_>, p: &Params, user: bool, action: &str) -> Result<Target, QueryError> {
    target_with(ctx, p, user, |resource| authorize(ctx, action, resource))
}

/// The user or role a request names, once `check` has allowed the request on its ARN.
fn target_with(
    ctx: &QueryCtx<'_>,
    p: &Params,
    user: bool,
    check: impl FnOnce(&str) -> Result<(), QueryError>,
) -> Result<Target, QueryError> {
    let iam = &ctx.state.accounts.iam;
    if user {
        let name = p.required("UserName")?;
        check(&user_arn(ctx, name))?;
        iam.user(account(ctx), name).map(Target::User).ok_or_else(|| no_user(name))
    } else {
        let name = p.required("RoleName")?;
        check(&role_arn(ctx, name))?;
        iam.role(account(ctx), name).map(Target::Role).ok_or_else(|| no_role(name))
    }
}

async fn save(ctx: &QueryCtx<'_>, target: Target) -> Result<(), QueryError> {
    let iam = &ctx.state.accounts.iam;
    match target {
        Target::User(u) => iam.update_user(&*ctx.state.store, u).await?,
        Target::Role(r) => iam.update_role(&*ctx.state.store, r).await?,
    }
    Ok(())
}

async fn put_policy(ctx: &QueryCtx<'_>, p: &Params, user: bool) -> Result<String, QueryError> {
    let action = if user { "PutUserPolicy" } else { "PutRolePolicy" };
    let policy_name = p.required("PolicyName")?;
    check_name("policyName", policy_name, 128)?;
    let document = p.required("PolicyDocument")?;
    if document.chars().count() > INLINE_POLICY_MAX_CHARS {
        return Err(QueryError::new(
            409,
            "LimitExceeded",
            format!("Maximum policy size of {INLINE_POLICY_MAX_CHARS} bytes exceeded"),
        ));
    }
    Policy::parse(document, PolicyKind::Identity).map_err(malformed)?;
    let mut target = target(ctx, p, user, action)?;
    let policies = match &mut target {
        Target::User(u) => &mut u.policies,
        Target::Role(r) => &mut r.policies,
    };
    policies.insert(policy_name.to_owned(), document.to_owned());
    save(ctx, target).await?;
    Ok(String::new())
}

fn get_policy(ctx: &QueryCtx<'_>, p: &Params, user: bool) -> Result<String, QueryError> {
    let action = if user { "GetUserPolicy" } else { "GetRolePolicy" };
    let policy_name = p.required("PolicyName")?;
    let (owner_element, owner, policies) = match target(ctx, p, user, action)? {
        Target::User(u) => ("UserName", u.name, u.policies),
        Target::Role(r) => ("RoleName", r.name, r.policies),
    };
    let kind = if user { "user" } else { "role" };
    let document = policies.get(policy_name).ok_or_else(|| {
        QueryError::no_such_entity(format!(
            "The {kind} policy with name {policy_name} cannot be found."
        ))
    })?;
    Ok(format!(
        "{}{}{}",
        element(owner_element, &owner),
        element("PolicyName", policy_name),
        element("PolicyDocument", &url_encode(document))
    ))
}

async fn delete_policy(ctx: &QueryCtx<'_>, p: &Params, user: bool) -> Result<String, QueryError> {
    let action = if user { "DeleteUserPolicy" } else { "DeleteRolePolicy" };
    let policy_name = p.required("PolicyName")?;
    let mut target = target(ctx, p, user, action)?;
    let policies = match &mut target {
        Target::User(u) => &mut u.policies,
        Target::Role(r) => &mut r.policies,
    };
    let kind = if user { "user" } else { "role" };
    if policies.remove(policy_name).is_none() {
        return Err(QueryError::no_such_entity(format!(
            "The {kind} policy with name {policy_name} cannot be found."
        )));
    }
    save(ctx, target).await?;
    Ok(String::new())
}

async fn tag(ctx: &QueryCtx<'_>, p: &Params, user: bool) -> Result<String, QueryError> {
    let action = if user { "TagUser" } else { "TagRole" };
    let new = p.tags("Tags")?;
    if new.is_empty() {
        return Err(QueryError::validation(
            "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null",
        ));
    }
    check_tags(&new)?;
    let mut target =
        target_with(ctx, p, user, |resource| authorize_tagging(ctx, action, resource, &new))?;
    let tags = match &mut target {
        Target::User(u) => &mut u.tags,
        Target::Role(r) => &mut r.tags,
    };
    merge_tags(tags, new);
    check_tags(tags)?;
    save(ctx, target).await?;
    Ok(String::new())
}

/// UntagUser / UntagRole: removes the named tag keys (case-insensitively); keys the user or
/// role does not have are ignored, as in AWS.
async fn untag(ctx: &QueryCtx<'_>, p: &Params, user: bool) -> Result<String, QueryError> {
    let action = if user { "UntagUser" } else { "UntagRole" };
    let keys = p.list("TagKeys");
    if keys.is_empty() || keys.len() > TAGS_MAX {
        return Err(QueryError::validation(format!(
            "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must have length between 1 and {TAGS_MAX}"
        )));
    }
    let mut target = target_with(ctx, p, user, |resource| {
        let facts = RequestFacts { tag_keys: Some(keys.clone()), ..RequestFacts::default() };
        authorize_with(ctx, action, resource, &facts)?;
        reserved_tags_need_root(ctx, keys.iter().copied())
    })?;
    let tags = match &mut target {
        Target::User(u) => &mut u.tags,
        Target::Role(r) => &mut r.tags,
    };
    tags.retain(|(k, _)| !keys.iter().any(|gone| gone.eq_ignore_ascii_case(k)));
    save(ctx, target).await?;
    Ok(String::new())
}

//! The hosted pay page of a payment link: `GET /pay/{token}` shows it,
//! `POST /pay/{token}` pays it, `GET /pay/{token}/files/{id}` serves a file
//! of its invoice, and `/pay/assets/…` its stylesheet and script.
//!
//! The page is plain server-rendered HTML that works without its script
//! (which only switches between the card and bank forms and keeps a
//! second click from sending the form again); it loads nothing from
//! elsewhere. The link's token is the payer's only credential: the
//! gateway asks billing for the page with its own service token, and
//! billing finds the link by the token alone. Each rendered form carries a
//! fresh submission id, which billing turns into the payment's
//! Idempotency-Key: a double click or a reload of the answer charges once.
//! Submissions are rate-limited per link.

mod html;

use std::{
    hash::{DefaultHasher, Hash as _, Hasher as _},
    time::Instant,
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use paymesh_kit::{auth::Scope, crypto::random_base62, json::to_struct};
use paymesh_proto::{
    billing::v1::{self as pb, pay_page_service_client::PayPageServiceClient},
    common::v1 as common,
    methods::v1 as pm,
};
use serde_json::{Map, Value};
use tonic::Code;
use tonic_types::StatusExt as _;
use uuid::Uuid;

use crate::state::AppState;

/// The stylesheet and script of the page, served by the gateway itself.
const STYLE: &str = include_str!("../assets/pay.css");
const SCRIPT: &str = include_str!("../assets/pay.js");

/// The routes of the pay page.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/pay/assets/pay.css", get(|| async { asset(STYLE, "text/css; charset=utf-8") }))
        .route("/pay/assets/pay.js", get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }))
        .route("/pay/{token}", get(show).post(pay))
        .route("/pay/{token}/files/{id}", get(file))
}

/// A static file of the gateway's pages, cached for an hour.
pub(crate) fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

/// Whether `text`, a page, script or style the gateway serves, names
/// another origin: the gateway's pages load nothing from elsewhere (they
/// must work on a machine with no internet).
#[cfg(test)]
pub(crate) fn names_another_origin(text: &str) -> bool {
    text.contains("http://") || text.contains("https://")
}

/// An HTML answer: no caching (a page holds a fresh submission id), its
/// own resources only, no framing by other sites.
fn page(status: StatusCode, body: String) -> Response {
    form_page(status, body, None)
}

/// The origin of an absolute URL (`https://shop.example:8443`).
fn origin(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?))
}

/// A page with a form: like [`page`], and the form may also lead to the
/// origin of the link's redirect (browsers hold a form's redirect to
/// `form-action` too).
fn form_page(status: StatusCode, body: String, redirect: Option<&str>) -> Response {
    let redirect = redirect.and_then(origin).map(|o| format!(" {o}")).unwrap_or_default();
    let policy = format!(
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
         form-action 'self'{redirect}; frame-ancestors 'none'; base-uri 'none'"
    );
    html(status, body, &policy)
}

/// An HTML page of the gateway's under Content-Security-Policy `policy`:
/// never cached (a page may hold a fresh submission id), no referrer, no
/// type sniffing.
pub(crate) fn html(status: StatusCode, body: impl IntoResponse, policy: &str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(policy) = HeaderValue::from_str(policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}

/// The redirect of a page's link, if it has one.
fn redirect_of(found: &pb::PayPage) -> Option<&str> {
    found.link.as_ref().map(|l| l.redirect_url.as_str()).filter(|u| !u.is_empty())
}

/// The billing client, acting as the gateway itself.
fn billing(state: &AppState) -> Option<PayPageServiceClient<paymesh_kit::grpc::Channel>> {
    state.channel_named("billing").map(PayPageServiceClient::new)
}

/// A request of the gateway's own: its token, and no partner (billing
/// reads the partner from the link).
fn own<T>(state: &AppState, message: T) -> tonic::Request<T> {
    state.service_token.request(Scope { partner_id: Uuid::nil(), livemode: false }, message)
}

/// A page that says what went wrong, for a status billing answered.
fn trouble(status: &tonic::Status) -> Response {
    match status.code() {
        Code::NotFound => page(
            StatusCode::NOT_FOUND,
            html::notice(
                "Payment link not found",
                "This payment link does not exist. Check the address you were sent.",
            ),
        ),
        Code::Unavailable | Code::DeadlineExceeded => page(
            StatusCode::SERVICE_UNAVAILABLE,
            html::notice(
                "Try again in a moment",
                "Payments are briefly unavailable. Nothing was charged; reload this page to try again.",
            ),
        ),
        _ => {
            tracing::warn!(code = ?status.code(), "pay page: billing failed");
            page(
                StatusCode::BAD_GATEWAY,
                html::notice("Something went wrong", "The page could not be shown. Nothing was charged."),
            )
        }
    }
}

/// A fresh submission id for a rendered form.
fn submission() -> String {
    random_base62(32).unwrap_or_else(|_| Uuid::now_v7().simple().to_string())
}

/// `GET /pay/{token}`.
async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(mut billing) = billing(&state) else { return trouble(&tonic::Status::unavailable("billing")) };
    match billing.get_pay_page(own(&state, pb::GetPayPageRequest { token: token.clone() })).await {
        Ok(answer) => {
            let Some(found) = answer.into_inner().page else {
                return trouble(&tonic::Status::internal("no page"));
            };
            if found.closed_reason.is_empty() {
                let body = html::form(&token, &found, &html::Filled::fresh(submission()));
                form_page(StatusCode::OK, body, redirect_of(&found))
            } else {
                page(StatusCode::OK, html::closed(&found))
            }
        }
        Err(status) => trouble(&status),
    }
}

/// The pairs of an urlencoded form body.
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// What the payer sent, as billing's request.
fn payment_request(token: &str, pairs: &[(String, String)]) -> pb::PayPaymentLinkRequest {
    let get = |name: &str| {
        pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).unwrap_or_default()
    };
    let method = if get("method") == "bank_account" {
        pm::PaymentMethod {
            r#type: pm::PaymentMethodType::BankAccount as i32,
            account_holder: get("account_holder"),
            bank_account: Some(pm::BankAccount {
                account_number: get("account_number"),
                routing_number: get("routing_number"),
                account_type: if get("account_type") == "savings" {
                    pm::BankAccountType::Savings
                } else {
                    pm::BankAccountType::Checking
                } as i32,
                ..Default::default()
            }),
            ..Default::default()
        }
    } else {
        pm::PaymentMethod {
            r#type: pm::PaymentMethodType::Card as i32,
            account_holder: get("card_holder"),
            card: Some(pm::Card {
                card_number: get("card_number").chars().filter(|c| !c.is_whitespace() && *c != '-').collect(),
                expiry: get("expiry"),
                card_code: get("card_code"),
                ..Default::default()
            }),
            billing_address: Some(common::Address { postal_code: get("postal_code"), ..Default::default() }),
            ..Default::default()
        }
    };
    let answers: Map<String, Value> = pairs
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("answer:").map(|title| (title.to_owned(), Value::String(v.trim().to_owned())))
        })
        .collect();
    let amount = get("amount");
    pb::PayPaymentLinkRequest {
        token: token.to_owned(),
        submission_id: get("submission_id"),
        amount: (!amount.is_empty()).then(|| common::Money { amount, currency: String::new() }),
        payment_method: Some(method),
        payer_name: get("payer_name"),
        payer_email: get("payer_email"),
        answers: (!answers.is_empty()).then(|| to_struct(answers)),
    }
}

/// The rate-limit bucket of a link's submissions.
fn bucket(token: &str) -> Uuid {
    let mut hasher = DefaultHasher::new();
    "pay-page".hash(&mut hasher);
    token.hash(&mut hasher);
    Uuid::from_u64_pair(hasher.finish(), 0)
}

/// `POST /pay/{token}`: pays, then shows the confirmation (or goes to the
/// link's redirect), or the form again with what went wrong.
async fn pay(State(state): State<AppState>, Path(token): Path<String>, body: Bytes) -> Response {
    if let Err(wait) = state.rate_limiter.take(bucket(&token), Instant::now()) {
        let mut response = page(
            StatusCode::TOO_MANY_REQUESTS,
            html::notice("Too many attempts", "Wait a moment, then reload the page to try again."),
        );
        if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let Some(mut billing) = billing(&state) else { return trouble(&tonic::Status::unavailable("billing")) };
    let pairs = form_pairs(&body);
    let request = payment_request(&token, &pairs);
    let outcome = billing.pay_payment_link(own(&state, request)).await;
    let paid = match outcome {
        Ok(answer) => answer.into_inner(),
        Err(status) => return refused(&state, &token, &pairs, &status).await,
    };
    if !paid.redirect_url.is_empty() {
        let separator = if paid.redirect_url.contains('?') { '&' } else { '?' };
        return Redirect::to(&format!(
            "{}{separator}transaction_id={}",
            paid.redirect_url, paid.transaction_id
        ))
        .into_response();
    }
    match billing.get_pay_page(own(&state, pb::GetPayPageRequest { token })).await {
        Ok(answer) => match answer.into_inner().page {
            Some(found) => page(StatusCode::OK, html::paid(&found, &paid)),
            None => trouble(&tonic::Status::internal("no page")),
        },
        Err(status) => trouble(&status),
    }
}

/// The form again after a refusal: the decline's message, or each field's
/// problem, with what the payer typed (never the card or account number),
/// under a new submission id; or the page that says the link is closed.
async fn refused(
    state: &AppState,
    token: &str,
    pairs: &[(String, String)],
    status: &tonic::Status,
) -> Response {
    let (banner, problems) = match status.code() {
        Code::FailedPrecondition => (status.message().to_owned(), Vec::new()),
        Code::InvalidArgument => {
            let problems: Vec<(String, String)> = status
                .get_details_bad_request()
                .map(|bad| bad.field_violations.into_iter().map(|v| (v.field, v.description)).collect())
                .unwrap_or_default();
            ("Please check the highlighted fields.".to_owned(), problems)
        }
        Code::Aborted | Code::AlreadyExists => (status.message().to_owned(), Vec::new()),
        _ => return trouble(status),
    };
    let Some(mut billing) = billing(state) else { return trouble(&tonic::Status::unavailable("billing")) };
    let found =
        match billing.get_pay_page(own(state, pb::GetPayPageRequest { token: token.to_owned() })).await {
            Ok(answer) => answer.into_inner().page,
            Err(status) => return trouble(&status),
        };
    let Some(found) = found else { return trouble(&tonic::Status::internal("no page")) };
    if !found.closed_reason.is_empty() {
        return page(StatusCode::CONFLICT, html::closed(&found));
    }
    // A submission still on its way keeps its id: sent again, it is the
    // same payment. Any other refusal ended it, and a new one starts.
    let same = pairs.iter().find(|(k, _)| k == "submission_id").map(|(_, v)| v.clone());
    let id = match (status.code(), same) {
        (Code::Aborted, Some(same)) => same,
        _ => submission(),
    };
    let filled = html::Filled::again(id, pairs, banner, problems);
    form_page(StatusCode::UNPROCESSABLE_ENTITY, html::form(token, &found, &filled), redirect_of(&found))
}

/// `GET /pay/{token}/files/{id}`: a file of the link's invoice.
async fn file(State(state): State<AppState>, Path((token, id)): Path<(String, String)>) -> Response {
    let Some(mut billing) = billing(&state) else { return trouble(&tonic::Status::unavailable("billing")) };
    let request = pb::GetPayPageAttachmentRequest { token, attachment_id: id };
    match billing.get_pay_page_attachment(own(&state, request)).await {
        Ok(answer) => {
            let answer = answer.into_inner();
            let mut response = answer.content.into_response();
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(&answer.content_type) {
                headers.insert(header::CONTENT_TYPE, value);
            }
            let name: String = answer
                .file_name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || ".-_ ".contains(c) { c } else { '_' })
                .collect();
            if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
            response
        }
        Err(status) => trouble(&status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn a_card_form_becomes_a_card_payment() {
        let body = pairs(&[
            ("submission_id", "abcdefghijklmnop"),
            ("method", "card"),
            ("card_number", "4242 4242 4242 4242"),
            ("expiry", "12/30"),
            ("card_code", "123"),
            ("postal_code", "10001"),
            ("answer:Unit", " 4B "),
        ]);
        let request = payment_request("tok", &body);
        let method = request.payment_method.unwrap();
        assert_eq!(method.card.unwrap().card_number, "4242424242424242");
        assert_eq!(method.billing_address.unwrap().postal_code, "10001");
        assert_eq!(request.submission_id, "abcdefghijklmnop");
        assert!(request.amount.is_none());
        let answers = paymesh_kit::json::from_struct(request.answers.unwrap());
        assert_eq!(answers["Unit"], "4B");
    }

    #[test]
    fn a_bank_form_becomes_a_bank_payment() {
        let body = pairs(&[
            ("method", "bank_account"),
            ("account_number", "123456789"),
            ("routing_number", "011000015"),
            ("account_type", "savings"),
            ("amount", "12.50"),
        ]);
        let request = payment_request("tok", &body);
        let bank = request.payment_method.unwrap().bank_account.unwrap();
        assert_eq!(bank.routing_number, "011000015");
        assert_eq!(bank.account_type, pm::BankAccountType::Savings as i32);
        assert_eq!(request.amount.unwrap().amount, "12.50");
    }

    #[test]
    fn a_redirect_opens_the_form_to_its_origin_only() {
        let plain = page(StatusCode::OK, String::new());
        let policy = |r: &Response| r.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        assert!(policy(&plain).contains("form-action 'self';"));
        let redirecting =
            form_page(StatusCode::OK, String::new(), Some("https://shop.example:8443/thanks?x=1"));
        assert!(policy(&redirecting).contains("form-action 'self' https://shop.example:8443;"));
        assert_eq!(origin("/relative"), None);
    }

    #[test]
    fn buckets_are_per_link() {
        assert_eq!(bucket("a"), bucket("a"));
        assert_ne!(bucket("a"), bucket("b"));
    }
}

//! The pay page's HTML: the form, the confirmation, and the notices of a
//! link that takes no payment. Every text from a partner or payer is
//! escaped; every input has a label; errors are tied to their inputs
//! (`aria-describedby`) and announced (`role="alert"`).

use std::{collections::HashMap, fmt::Write as _};

use paymesh_kit::markup::escape;
use paymesh_proto::{billing::v1 as pb, common::v1 as common};

/// What a rendered form holds: its submission id, and after a refusal,
/// what the payer typed and what went wrong.
#[derive(Debug, Default)]
pub(crate) struct Filled {
    submission: String,
    values: HashMap<String, String>,
    banner: String,
    problems: HashMap<String, String>,
}

/// Inputs whose values are never sent back to the browser.
const SECRET_INPUTS: &[&str] = &["card_number", "card_code", "account_number", "submission_id"];

impl Filled {
    /// A new, empty form.
    pub(crate) fn fresh(submission: String) -> Self {
        Self { submission, ..Self::default() }
    }

    /// The form again, with what the payer typed (never a card or account
    /// number) and the problems, each under its input.
    pub(crate) fn again(
        submission: String,
        pairs: &[(String, String)],
        banner: String,
        problems: Vec<(String, String)>,
    ) -> Self {
        let values = pairs
            .iter()
            .filter(|(k, _)| !SECRET_INPUTS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut filled = Self { submission, values, banner, problems: HashMap::new() };
        let mut unplaced = Vec::new();
        for (field, why) in problems {
            match input_of(&field) {
                Some(input) => {
                    filled.problems.entry(input).or_insert(why);
                }
                None => unplaced.push(why),
            }
        }
        if !unplaced.is_empty() {
            filled.banner = unplaced.join(" ");
        }
        filled
    }

    fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }
}

/// The input a problem's field path is about, if it is one of the page's.
fn input_of(field: &str) -> Option<String> {
    if let Some(title) = field.strip_prefix("answers.") {
        return Some(format!("answer:{title}"));
    }
    let last = field.rsplit('.').next().unwrap_or(field);
    let input = match (field, last) {
        ("payer_name" | "payment.payer.name", _) => "payer_name",
        ("payer_email" | "payment.payer.email", _) => "payer_email",
        ("amount", _) => "amount",
        (_, "card_number") => "card_number",
        (_, "expiry") => "expiry",
        (_, "card_code") => "card_code",
        (_, "postal_code") => "postal_code",
        (_, "account_number") => "account_number",
        (_, "routing_number") => "routing_number",
        _ => return None,
    };
    Some(input.to_owned())
}

/// An amount for people: `$10.00` in dollars, `10.00 EUR` otherwise.
fn shown(money: Option<&common::Money>) -> String {
    let Some(money) = money else { return String::new() };
    match money.currency.as_str() {
        "USD" | "" => format!("${}", money.amount),
        "CAD" => format!("CA${}", money.amount),
        other => format!("{} {other}", money.amount),
    }
}

/// The document around `main`.
fn document(title: &str, main: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"icon\" href=\"data:,\">\
         <link rel=\"stylesheet\" href=\"/pay/assets/pay.css\">\
         <script src=\"/pay/assets/pay.js\" defer></script></head>\
         <body><main class=\"card\">{main}</main>\
         <footer>Payments secured by paymesh</footer></body></html>",
        escape(title)
    )
}

/// The heading of a link's pages: the merchant and what the payment is
/// for.
fn heading(page: &pb::PayPage) -> String {
    let link = page.link.clone().unwrap_or_default();
    format!(
        "<header><p class=\"merchant\">{}</p><h1>{}</h1></header>",
        escape(&page.merchant_name),
        escape(&link.description)
    )
}

/// The link's own files, as links to download them.
fn files(token: &str, files: &[pb::PayPageFile]) -> String {
    if files.is_empty() {
        return String::new();
    }
    let mut out = String::from("<ul class=\"files\" aria-label=\"Files\">");
    for file in files {
        let _ = write!(
            out,
            "<li><a href=\"/pay/{}/files/{}\">{}</a></li>",
            escape(token),
            escape(&file.id),
            escape(&file.file_name)
        );
    }
    out.push_str("</ul>");
    out
}

/// The invoice a link pays: its items, totals, due date and files.
fn invoice(token: &str, page: &pb::PayPage) -> String {
    let Some(invoice) = &page.invoice else { return String::new() };
    let mut out = String::from("<section class=\"invoice\" aria-label=\"Invoice\"><h2>Invoice</h2>");
    if !invoice.description.is_empty() {
        let _ = write!(out, "<p>{}</p>", escape(&invoice.description));
    }
    out.push_str("<table><tbody>");
    for item in &invoice.items {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
            escape(&item.description),
            escape(&shown(item.total.as_ref()))
        );
    }
    let _ = write!(
        out,
        "</tbody><tfoot><tr><th scope=\"row\">Total</th><td class=\"num\">{}</td></tr>\
         <tr><th scope=\"row\">Left to pay</th><td class=\"num\">{}</td></tr></tfoot></table>\
         <p>Due {}</p>",
        escape(&shown(invoice.total_due.as_ref())),
        escape(&shown(invoice.amount_due.as_ref())),
        escape(&invoice.due_date)
    );
    out.push_str(&files(token, &invoice.attachments));
    out.push_str("</section>");
    out
}

/// One labelled input, with its problem if it has one.
#[derive(Clone, Copy)]
struct Input<'a> {
    name: &'a str,
    label: &'a str,
    kind: &'a str,
    autocomplete: &'a str,
    required: bool,
    extra: &'a str,
}

/// An input with no further attributes.
const fn field<'a>(
    name: &'a str,
    label: &'a str,
    kind: &'a str,
    autocomplete: &'a str,
    required: bool,
) -> Input<'a> {
    Input { name, label, kind, autocomplete, required, extra: "" }
}

fn input(out: &mut String, filled: &Filled, field: Input<'_>) {
    let id = format!("f-{}", field.name.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
    let problem = filled.problems.get(field.name);
    let described = if problem.is_some() {
        format!(" aria-invalid=\"true\" aria-describedby=\"{id}-error\"")
    } else {
        String::new()
    };
    let _ = write!(
        out,
        "<div class=\"field\"><label for=\"{id}\">{}{}</label>\
         <input id=\"{id}\" name=\"{}\" type=\"{}\" autocomplete=\"{}\" value=\"{}\"{}{described} {}>",
        escape(field.label),
        if field.required { "" } else { " <span class=\"optional\">(optional)</span>" },
        escape(field.name),
        field.kind,
        field.autocomplete,
        escape(filled.value(field.name)),
        if field.required { " required" } else { "" },
        field.extra,
    );
    if let Some(problem) = problem {
        let _ = write!(out, "<p class=\"error\" id=\"{id}-error\">{}</p>", escape(problem));
    }
    out.push_str("</div>");
}

/// The payment form of an active link.
pub(crate) fn form(token: &str, page: &pb::PayPage, filled: &Filled) -> String {
    let link = page.link.clone().unwrap_or_default();
    let mut out = heading(page);
    out.push_str(&files(token, &page.attachments));
    out.push_str(&invoice(token, page));
    if !filled.banner.is_empty() {
        let _ = write!(out, "<div class=\"banner\" role=\"alert\">{}</div>", escape(&filled.banner));
    }
    let _ = write!(
        out,
        "<form method=\"post\" action=\"/pay/{}\" class=\"pay\" novalidate>\
         <input type=\"hidden\" name=\"submission_id\" value=\"{}\">",
        escape(token),
        escape(&filled.submission)
    );
    match &page.amount_due {
        Some(amount) => {
            let _ = write!(
                out,
                "<p class=\"amount\">Amount <strong>{}</strong></p>",
                escape(&shown(Some(amount)))
            );
        }
        None => input(
            &mut out,
            filled,
            Input {
                extra: "inputmode=\"decimal\" min=\"0.01\" step=\"0.01\"",
                ..field("amount", &format!("Amount ({})", link.currency), "number", "off", true)
            },
        ),
    }
    if page.asks_payer {
        out.push_str("<fieldset><legend>Your details</legend>");
        input(&mut out, filled, field("payer_name", "Name", "text", "name", true));
        input(&mut out, filled, field("payer_email", "Email", "email", "email", true));
        out.push_str("</fieldset>");
    }
    for section in &link.additional_datafields {
        let legend = if section.section.is_empty() { "Details" } else { section.section.as_str() };
        let _ = write!(out, "<fieldset><legend>{}</legend>", escape(legend));
        for data in &section.fields {
            let kind = match data.r#type.as_str() {
                "email" => "email",
                "number" => "number",
                "date" => "date",
                "phone" => "tel",
                _ => "text",
            };
            let name = format!("answer:{}", data.title);
            let placeholder = format!("placeholder=\"{}\"", escape(&data.placeholder));
            input(
                &mut out,
                filled,
                Input { extra: &placeholder, ..field(&name, &data.title, kind, "off", data.required) },
            );
        }
        out.push_str("</fieldset>");
    }
    let bank = filled.value("method") == "bank_account";
    let _ = write!(
        out,
        "<fieldset class=\"methods\"><legend>Pay with</legend>\
         <label class=\"choice\"><input type=\"radio\" name=\"method\" value=\"card\"{}> Card</label>\
         <label class=\"choice\"><input type=\"radio\" name=\"method\" value=\"bank_account\"{}> Bank account</label>\
         </fieldset>",
        if bank { "" } else { " checked" },
        if bank { " checked" } else { "" }
    );
    out.push_str("<fieldset class=\"method\" data-method=\"card\"><legend>Card</legend>");
    input(&mut out, filled, field("card_holder", "Name on card", "text", "cc-name", false));
    input(
        &mut out,
        filled,
        Input {
            extra: "inputmode=\"numeric\"",
            ..field("card_number", "Card number", "text", "cc-number", true)
        },
    );
    out.push_str("<div class=\"row\">");
    input(
        &mut out,
        filled,
        Input { extra: "placeholder=\"MM/YY\"", ..field("expiry", "Expiry", "text", "cc-exp", true) },
    );
    input(
        &mut out,
        filled,
        Input {
            extra: "inputmode=\"numeric\"",
            ..field("card_code", "Security code", "text", "cc-csc", true)
        },
    );
    out.push_str("</div>");
    input(&mut out, filled, field("postal_code", "Billing postal code", "text", "postal-code", true));
    out.push_str(
        "</fieldset><fieldset class=\"method\" data-method=\"bank_account\"><legend>Bank account</legend>",
    );
    input(&mut out, filled, field("account_holder", "Account holder", "text", "name", false));
    input(
        &mut out,
        filled,
        Input {
            extra: "inputmode=\"numeric\"",
            ..field("routing_number", "Routing number", "text", "off", true)
        },
    );
    input(
        &mut out,
        filled,
        Input {
            extra: "inputmode=\"numeric\"",
            ..field("account_number", "Account number", "text", "off", true)
        },
    );
    let savings = filled.value("account_type") == "savings";
    let _ = write!(
        out,
        "<div class=\"field\"><label for=\"f-account-type\">Account type</label>\
         <select id=\"f-account-type\" name=\"account_type\"><option value=\"checking\">Checking</option>\
         <option value=\"savings\"{}>Savings</option></select></div></fieldset>",
        if savings { " selected" } else { "" }
    );
    let label =
        page.amount_due.as_ref().map_or_else(|| "Pay".to_owned(), |a| format!("Pay {}", shown(Some(a))));
    let _ = write!(out, "<button type=\"submit\">{}</button></form>", escape(&label));
    document(&format!("Pay {}", page.merchant_name), &out)
}

/// The confirmation after a processed payment.
pub(crate) fn paid(page: &pb::PayPage, paid: &pb::PayPaymentLinkResponse) -> String {
    let mut out = heading(page);
    let _ = write!(
        out,
        "<section class=\"done\" role=\"status\"><h2>Payment received</h2>\
         <p>Thank you. {} was paid to {}.</p><p class=\"reference\">Reference <code>{}</code></p></section>",
        escape(&shown(paid.amount.as_ref())),
        escape(&page.merchant_name),
        escape(&paid.transaction_id)
    );
    document("Payment received", &out)
}

/// The page of a link that takes no payment: paid, canceled, expired, or
/// its invoice paid or closed.
pub(crate) fn closed(page: &pb::PayPage) -> String {
    let mut out = heading(page);
    let _ = write!(out, "<section class=\"done\" role=\"status\"><h2>{}</h2>", escape(&page.closed_reason));
    if !page.transaction_id.is_empty() {
        let _ =
            write!(out, "<p class=\"reference\">Reference <code>{}</code></p>", escape(&page.transaction_id));
    }
    out.push_str("<p>No payment can be made on this page. Contact the merchant if you think this is a mistake.</p></section>");
    document(&page.closed_reason, &out)
}

/// A page with a title and one sentence (not found, unavailable, …).
pub(crate) fn notice(title: &str, text: &str) -> String {
    document(
        title,
        &format!(
            "<section class=\"done\" role=\"alert\"><h1>{}</h1><p>{}</p></section>",
            escape(title),
            escape(text)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> pb::PayPage {
        pb::PayPage {
            link: Some(pb::PaymentLink {
                description: "Rent <December>".into(),
                currency: "USD".into(),
                additional_datafields: vec![pb::DataFieldSection {
                    section: "Extra Fields".into(),
                    fields: vec![pb::DataField {
                        title: "Unit".into(),
                        required: true,
                        ..Default::default()
                    }],
                }],
                ..Default::default()
            }),
            merchant_name: "Acme & Co".into(),
            asks_payer: true,
            ..Default::default()
        }
    }

    #[test]
    fn the_form_escapes_labels_everything_and_asks_what_it_must() {
        let html = form("tok", &page(), &Filled::fresh("sub123".into()));
        assert!(html.contains("Acme &amp; Co"));
        assert!(html.contains("Rent &lt;December&gt;"));
        assert!(!html.contains("<December>"));
        assert!(html.contains("name=\"submission_id\" value=\"sub123\""));
        // No amount on the link: the payer types it; no customer: name and email.
        for name in ["amount", "payer_name", "payer_email", "answer:Unit", "card_number", "routing_number"] {
            assert!(html.contains(&format!("name=\"{name}\"")), "{name}");
        }
        // Every input has its label.
        let inputs = html.matches("<input id=").count();
        let labels = html.matches("<label for=\"f-").count();
        assert_eq!(inputs, labels - 1, "the select has a label too");
        assert!(!crate::pages::names_another_origin(&html), "nothing from elsewhere");
    }

    #[test]
    fn a_refused_form_keeps_what_was_typed_but_no_number_and_places_problems() {
        let pairs: Vec<(String, String)> = [
            ("payer_name", "Ada"),
            ("card_number", "4111111111119903"),
            ("card_code", "123"),
            ("method", "card"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let problems = vec![
            ("answers.Unit".to_owned(), "Required".to_owned()),
            ("payment.payer.email".to_owned(), "Must be a valid email address".to_owned()),
        ];
        let filled = Filled::again("sub2".into(), &pairs, "Check the fields".into(), problems);
        let html = form("tok", &page(), &filled);
        assert!(html.contains("value=\"Ada\""));
        assert!(!html.contains("4111111111119903"));
        assert!(!html.contains("value=\"123\""));
        assert!(html.contains("aria-describedby=\"f-answer-Unit-error\""));
        assert!(html.contains("id=\"f-payer-email-error\">Must be a valid email address"));
        assert!(html.contains("role=\"alert\">Check the fields"));
    }

    #[test]
    fn amounts_read_as_people_write_them() {
        let money =
            |amount: &str, currency: &str| common::Money { amount: amount.into(), currency: currency.into() };
        assert_eq!(shown(Some(&money("10.00", "USD"))), "$10.00");
        assert_eq!(shown(Some(&money("5.50", "EUR"))), "5.50 EUR");
        assert_eq!(shown(None), "");
    }
}

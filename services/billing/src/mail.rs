//! Payment-link emails, handed to the SMTP relay the service is configured
//! with. Without one, nothing is sent: messages stay recorded on their
//! links (status `recorded`), visible through the API.

use lettre::{
    AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};
use paymesh_kit::config::Secret;

/// The sender of payment-link emails.
#[derive(Clone)]
pub(crate) enum Mailer {
    /// No relay: messages are recorded only.
    Recording,
    /// Hands messages to an SMTP relay.
    Smtp { transport: Box<AsyncSmtpTransport<Tokio1Executor>>, from: Box<Mailbox> },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Recording => f.write_str("Mailer::Recording"),
            // The relay's URL may hold a password: never shown.
            Self::Smtp { from, .. } => {
                f.debug_struct("Mailer::Smtp").field("from", &from.to_string()).finish()
            }
        }
    }
}

impl Mailer {
    /// The mailer of `relay` (an `smtp://` or `smtps://` URL), sending as
    /// `from`; recording only without a relay.
    pub(crate) fn new(relay: Option<&Secret<String>>, from: &str) -> anyhow::Result<Self> {
        let Some(relay) = relay else { return Ok(Self::Recording) };
        let from: Mailbox =
            from.parse().map_err(|e| anyhow::anyhow!("PAYMESH_MAIL_FROM is not an address: {e}"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(relay.expose())
            .map_err(|e| anyhow::anyhow!("PAYMESH_SMTP_URL is not an SMTP URL: {e}"))?
            .build();
        Ok(Self::Smtp { transport: Box::new(transport), from: Box::new(from) })
    }

    /// Whether messages are handed to a relay.
    pub(crate) const fn relays(&self) -> bool {
        matches!(self, Self::Smtp { .. })
    }

    /// Hands one plain-text message to the relay; the error says why it
    /// was refused (without the relay's credentials).
    pub(crate) async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let Self::Smtp { transport, from } = self else { return Ok(()) };
        let to: Mailbox = to.parse().map_err(|_| format!("Not an email address: {to}"))?;
        let message = Message::builder()
            .from(Mailbox::clone(from))
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| format!("The message could not be built: {e}"))?;
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("The SMTP relay refused the message: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_is_optional_and_checked() {
        assert!(!Mailer::new(None, "x").unwrap().relays());
        let relay = Secret::new("smtp://user:hunter2@127.0.0.1:2525".to_owned());
        let mailer = Mailer::new(Some(&relay), "paymesh <payments@example.com>").unwrap();
        assert!(mailer.relays());
        assert!(!format!("{mailer:?}").contains("hunter2"));
        assert!(Mailer::new(Some(&relay), "not an address").is_err());
        assert!(Mailer::new(Some(&Secret::new("ftp://x".to_owned())), "a@b.example").is_err());
    }
}

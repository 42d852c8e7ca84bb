//! Files partners upload (identity documents, invoice attachments): the
//! content types paymesh accepts, plain file names, and the check that a
//! file is what it claims and within the size limit. The type is
//! confirmed by the content's first bytes (a PDF starts `%PDF-`, a PNG
//! `\x89PNG`, a JPEG `\xFF\xD8\xFF`).

/// The content types paymesh accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentType {
    /// `application/pdf`.
    Pdf,
    /// `image/jpeg`.
    Jpeg,
    /// `image/png`.
    Png,
}

/// Every accepted content type.
pub const CONTENT_TYPES: &[&str] = &["application/pdf", "image/jpeg", "image/png"];

impl ContentType {
    /// Parses a content type (parameters such as `; charset` are ignored).
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase().as_str() {
            "application/pdf" => Ok(Self::Pdf),
            "image/jpeg" | "image/jpg" => Ok(Self::Jpeg),
            "image/png" => Ok(Self::Png),
            "" => Err("Required".to_owned()),
            _ => Err(format!("Must be one of: {}", CONTENT_TYPES.join(", "))),
        }
    }

    /// The standard spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    /// The name people know it by: PDF, JPEG, PNG.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
        }
    }

    /// Whether `content` starts the way files of this type do.
    pub fn matches(self, content: &[u8]) -> bool {
        match self {
            Self::Pdf => content.starts_with(b"%PDF-"),
            Self::Jpeg => content.starts_with(&[0xFF, 0xD8, 0xFF]),
            Self::Png => content.starts_with(b"\x89PNG\r\n\x1a\n"),
        }
    }
}

/// A file name: 1 to 255 characters, no path separators or control
/// characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileName(String);

impl FileName {
    /// Parses a file name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Required".to_owned());
        }
        if name.chars().count() > 255 {
            return Err("Must be at most 255 characters".to_owned());
        }
        if name.contains(['/', '\\']) || name == "." || name == ".." || name.chars().any(char::is_control) {
            return Err("Must be a plain file name, without paths or control characters".to_owned());
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A name read back from storage.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }
}

/// Checks an upload's content against its declared type and the size
/// limit.
pub fn check_content(content: &[u8], content_type: ContentType, max_bytes: usize) -> Result<(), String> {
    if content.is_empty() {
        return Err("The file is empty".to_owned());
    }
    if content.len() > max_bytes {
        return Err(format!("The file is larger than {max_bytes} bytes"));
    }
    if !content_type.matches(content) {
        return Err(format!(
            "The content is not a {} file, as its type ({}) says",
            content_type.name(),
            content_type.as_str()
        ));
    }
    Ok(())
}

/// The SHA-256 of `content`, in lower-case hex: how a stored file is
/// fingerprinted.
pub fn sha256_hex(content: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(content).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_fingerprinted_in_hex() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn content_must_be_what_it_claims_and_within_the_limit() {
        let pdf = b"%PDF-1.7\n...";
        assert!(check_content(pdf, ContentType::Pdf, 100).is_ok());
        assert_eq!(
            check_content(pdf, ContentType::Png, 100).unwrap_err(),
            "The content is not a PNG file, as its type (image/png) says"
        );
        assert!(check_content(b"\xFF\xD8\xFF\xE0", ContentType::Jpeg, 100).is_ok());
        assert!(check_content(b"\x89PNG\r\n\x1a\n", ContentType::Png, 100).is_ok());
        assert!(check_content(b"", ContentType::Pdf, 100).unwrap_err().contains("empty"));
        assert!(check_content(pdf, ContentType::Pdf, 5).unwrap_err().contains("larger than 5 bytes"));
        assert_eq!(ContentType::parse("IMAGE/PNG; x=1").unwrap(), ContentType::Png);
        assert!(ContentType::parse("text/html").unwrap_err().starts_with("Must be one of"));
    }

    #[test]
    fn file_names_are_plain() {
        assert!(FileName::parse("passport.pdf").is_ok());
        for bad in ["", "../etc/passwd", "a/b.pdf", "a\\b.pdf", "a\u{0}.pdf", &"x".repeat(256)] {
            assert!(FileName::parse(bad).is_err(), "{bad:?}");
        }
    }
}

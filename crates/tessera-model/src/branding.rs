//! How an issuer's hosted pages look (issue 5): a logo, two colours, optional custom CSS,
//! links to terms and privacy, and texts that replace the catalogs' wording per language.
//!
//! Every part is optional; an issuer without branding gets Tessera's look. A [`Branding`] is
//! valid by construction ([`Branding::new`]), with errors that name the Core API field:
//!
//! - URLs are absolute `https` URLs of at most 2,000 bytes: the pages' CSP loads images only
//!   from Tessera or over HTTPS, and a link to terms should not downgrade the page.
//! - Colours are `#rgb` or `#rrggbb`; the text drawn on the primary and the background colour
//!   is chosen for contrast ([`Color::on`]), so a brand colour cannot make a button or the
//!   footer unreadable.
//! - Custom CSS is at most [`MAX_CUSTOM_CSS_BYTES`]. It is served as a stylesheet of its own
//!   (never inlined into HTML), so it cannot break out into markup, and the CSP still refuses
//!   scripts and styles from elsewhere.
//! - Texts: at most [`MAX_TEXTS`] overrides in all, each at most [`MAX_TEXT_CHARS`] characters,
//!   keyed by language and message id. Which languages and ids exist is the pages' business;
//!   the Core API checks them against the catalogs.

use std::collections::BTreeMap;

use crate::SettingsError;

/// The largest custom stylesheet, in bytes.
pub const MAX_CUSTOM_CSS_BYTES: usize = 16 * 1024;
/// The most text overrides, over all languages.
pub const MAX_TEXTS: usize = 200;
/// The longest text override, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;
/// The longest URL, in bytes.
const MAX_URL_BYTES: usize = 2000;

/// A colour, `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color([u8; 3]);

impl Color {
    /// Parses `#rgb` or `#rrggbb` (either case).
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix('#')?;
        let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let bytes = hex.as_bytes();
        match bytes.len() {
            3 => {
                let mut rgb = [0; 3];
                for (i, c) in bytes.iter().enumerate() {
                    rgb[i] = digit(*c)? * 17;
                }
                Some(Self(rgb))
            }
            6 => {
                let mut rgb = [0; 3];
                for (i, pair) in bytes.chunks(2).enumerate() {
                    rgb[i] = digit(pair[0])? * 16 + digit(pair[1])?;
                }
                Some(Self(rgb))
            }
            _ => None,
        }
    }

    /// `#rrggbb`, lowercase.
    pub fn to_hex(self) -> String {
        let [r, g, b] = self.0;
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// The WCAG 2.2 relative luminance.
    fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.040_45 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let [r, g, b] = self.0;
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    }

    /// Black or white, whichever contrasts more with this colour (WCAG 2.2 contrast ratio).
    pub fn on(self) -> Self {
        let l = self.luminance();
        // Contrast with white is 1.05 / (l + 0.05); with black, (l + 0.05) / 0.05.
        if 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 {
            Self([255, 255, 255])
        } else {
            Self([0, 0, 0])
        }
    }
}

/// The parts of a branding, as given; [`Branding::new`] checks them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrandingParts {
    /// The logo shown above every page.
    pub logo_url: Option<String>,
    /// Buttons, links and focus rings.
    pub primary_color: Option<String>,
    /// The page behind the card.
    pub background_color: Option<String>,
    /// A stylesheet loaded after Tessera's.
    pub custom_css: Option<String>,
    /// The terms of service, linked from every page.
    pub terms_url: Option<String>,
    /// The privacy policy, linked from every page.
    pub privacy_url: Option<String>,
    /// Texts by language, then message id.
    pub texts: BTreeMap<String, BTreeMap<String, String>>,
}

/// An issuer's branding, checked. See the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branding {
    logo_url: Option<String>,
    primary_color: Option<Color>,
    background_color: Option<Color>,
    custom_css: Option<String>,
    terms_url: Option<String>,
    privacy_url: Option<String>,
    texts: BTreeMap<String, BTreeMap<String, String>>,
}

fn refuse(field: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError {
        field,
        reason: reason.into(),
    }
}

fn https_url(field: &'static str, value: Option<String>) -> Result<Option<String>, SettingsError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let parsed = url::Url::parse(&value);
    match parsed {
        Ok(url) if url.scheme() == "https" && url.host().is_some() => {}
        _ => return Err(refuse(field, "must be an absolute https URL")),
    }
    if value.len() > MAX_URL_BYTES {
        return Err(refuse(
            field,
            format!("must be at most {MAX_URL_BYTES} bytes"),
        ));
    }
    Ok(Some(value))
}

fn color(field: &'static str, value: Option<String>) -> Result<Option<Color>, SettingsError> {
    value
        .map(|v| Color::parse(&v).ok_or_else(|| refuse(field, "must be a colour like #2f5bea")))
        .transpose()
}

impl Branding {
    /// Checks the parts; the error names the field (`settings.branding.logo_url`).
    pub fn new(parts: BrandingParts) -> Result<Self, SettingsError> {
        let custom_css = match parts.custom_css {
            Some(css) if css.len() > MAX_CUSTOM_CSS_BYTES => {
                return Err(refuse(
                    "settings.branding.custom_css",
                    format!("must be at most {MAX_CUSTOM_CSS_BYTES} bytes"),
                ));
            }
            Some(css) if css.contains('\0') => {
                return Err(refuse(
                    "settings.branding.custom_css",
                    "must not contain NUL",
                ));
            }
            css => css.filter(|c| !c.trim().is_empty()),
        };
        let count: usize = parts.texts.values().map(BTreeMap::len).sum();
        if count > MAX_TEXTS {
            return Err(refuse(
                "settings.branding.texts",
                format!("at most {MAX_TEXTS} texts in all"),
            ));
        }
        if let Some((lang, id)) = parts.texts.iter().find_map(|(lang, texts)| {
            texts
                .iter()
                .find(|(_, text)| text.chars().count() > MAX_TEXT_CHARS || text.is_empty())
                .map(|(id, _)| (lang, id))
        }) {
            return Err(refuse(
                "settings.branding.texts",
                format!("`{lang}.{id}` must be 1 to {MAX_TEXT_CHARS} characters"),
            ));
        }
        Ok(Self {
            logo_url: https_url("settings.branding.logo_url", parts.logo_url)?,
            primary_color: color("settings.branding.primary_color", parts.primary_color)?,
            background_color: color("settings.branding.background_color", parts.background_color)?,
            custom_css,
            terms_url: https_url("settings.branding.terms_url", parts.terms_url)?,
            privacy_url: https_url("settings.branding.privacy_url", parts.privacy_url)?,
            texts: parts
                .texts
                .into_iter()
                .filter(|(_, t)| !t.is_empty())
                .collect(),
        })
    }

    /// The parts, as stored and shown by the Core API.
    pub fn parts(&self) -> BrandingParts {
        BrandingParts {
            logo_url: self.logo_url.clone(),
            primary_color: self.primary_color.map(Color::to_hex),
            background_color: self.background_color.map(Color::to_hex),
            custom_css: self.custom_css.clone(),
            terms_url: self.terms_url.clone(),
            privacy_url: self.privacy_url.clone(),
            texts: self.texts.clone(),
        }
    }

    /// The logo's URL.
    pub fn logo_url(&self) -> Option<&str> {
        self.logo_url.as_deref()
    }

    /// The terms of service.
    pub fn terms_url(&self) -> Option<&str> {
        self.terms_url.as_deref()
    }

    /// The privacy policy.
    pub fn privacy_url(&self) -> Option<&str> {
        self.privacy_url.as_deref()
    }

    /// The text that replaces message `id` in `lang`, if the issuer set one.
    pub fn text(&self, lang: &str, id: &str) -> Option<&str> {
        self.texts.get(lang)?.get(id).map(String::as_str)
    }

    /// The texts, by language then message id.
    pub fn texts(&self) -> &BTreeMap<String, BTreeMap<String, String>> {
        &self.texts
    }

    /// Whether the pages need the issuer's own stylesheet (colours or custom CSS).
    pub fn has_stylesheet(&self) -> bool {
        self.primary_color.is_some() || self.background_color.is_some() || self.custom_css.is_some()
    }

    /// The issuer's stylesheet, loaded after Tessera's: the colours as the custom properties
    /// Tessera's stylesheet reads, then the custom CSS as given.
    pub fn stylesheet(&self) -> String {
        let mut css = String::from(":root {\n");
        if let Some(primary) = self.primary_color {
            css.push_str(&format!(
                "  --tessera-primary: {};\n  --tessera-on-primary: {};\n",
                primary.to_hex(),
                primary.on().to_hex()
            ));
        }
        if let Some(background) = self.background_color {
            css.push_str(&format!(
                "  --tessera-background: {};\n  --tessera-on-background: {};\n",
                background.to_hex(),
                background.on().to_hex()
            ));
        }
        css.push_str("}\n");
        if let Some(custom) = &self.custom_css {
            css.push_str(custom);
            css.push('\n');
        }
        css
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn colours_parse_in_both_lengths_and_pick_a_readable_text_colour() {
        assert_eq!(Color::parse("#2F5BEA").unwrap().to_hex(), "#2f5bea");
        assert_eq!(Color::parse("#fa0").unwrap().to_hex(), "#ffaa00");
        for bad in ["2f5bea", "#2f5be", "#ggg", "#", "", "#2f5bea00", "red"] {
            assert_eq!(Color::parse(bad), None, "{bad}");
        }
        let white = Color::parse("#fff").unwrap();
        let black = Color::parse("#000").unwrap();
        assert_eq!(Color::parse("#2f5bea").unwrap().on(), white);
        assert_eq!(Color::parse("#ffd400").unwrap().on(), black);
        assert_eq!(black.on(), white);
        assert_eq!(white.on(), black);
    }

    #[test]
    fn each_part_is_checked_and_named() {
        let cases: [(BrandingParts, &str); 6] = [
            (
                BrandingParts {
                    logo_url: Some("http://acme.example/logo.png".into()),
                    ..Default::default()
                },
                "settings.branding.logo_url",
            ),
            (
                BrandingParts {
                    terms_url: Some("/terms".into()),
                    ..Default::default()
                },
                "settings.branding.terms_url",
            ),
            (
                BrandingParts {
                    privacy_url: Some(format!("https://a.example/{}", "p".repeat(2000))),
                    ..Default::default()
                },
                "settings.branding.privacy_url",
            ),
            (
                BrandingParts {
                    primary_color: Some("blue".into()),
                    ..Default::default()
                },
                "settings.branding.primary_color",
            ),
            (
                BrandingParts {
                    custom_css: Some("a{}".repeat(6000)),
                    ..Default::default()
                },
                "settings.branding.custom_css",
            ),
            (
                BrandingParts {
                    texts: BTreeMap::from([(
                        "en".into(),
                        BTreeMap::from([("login-submit".into(), String::new())]),
                    )]),
                    ..Default::default()
                },
                "settings.branding.texts",
            ),
        ];
        for (parts, field) in cases {
            assert_eq!(Branding::new(parts).unwrap_err().field, field);
        }
    }

    #[test]
    fn a_branding_round_trips_through_its_parts_and_renders_its_stylesheet() {
        let parts = BrandingParts {
            logo_url: Some("https://acme.example/logo.svg".into()),
            primary_color: Some("#ffd400".into()),
            background_color: Some("#102030".into()),
            custom_css: Some("main { border: 2px solid gold; }".into()),
            terms_url: Some("https://acme.example/terms".into()),
            privacy_url: None,
            texts: BTreeMap::from([(
                "de".into(),
                BTreeMap::from([("login-submit".into(), "Los geht's".into())]),
            )]),
        };
        let branding = Branding::new(parts.clone()).unwrap();
        assert_eq!(branding.parts(), parts);
        assert_eq!(Branding::new(branding.parts()).unwrap(), branding);
        assert_eq!(branding.text("de", "login-submit"), Some("Los geht's"));
        assert_eq!(branding.text("en", "login-submit"), None);
        let css = branding.stylesheet();
        assert!(css.contains("--tessera-primary: #ffd400;"), "{css}");
        assert!(css.contains("--tessera-on-primary: #000000;"), "{css}");
        assert!(css.contains("--tessera-background: #102030;"), "{css}");
        assert!(css.contains("--tessera-on-background: #ffffff;"), "{css}");
        assert!(css.ends_with("main { border: 2px solid gold; }\n"), "{css}");
        assert!(branding.has_stylesheet());
        assert!(!Branding::default().has_stylesheet());
    }

    proptest! {
        #[test]
        fn colour_parsing_never_panics_and_round_trips(text in ".{0,10}") {
            if let Some(colour) = Color::parse(&text) {
                prop_assert_eq!(Color::parse(&colour.to_hex()), Some(colour));
            }
        }
    }
}

//! A registration's ticket: a code of 10 characters of Crockford's base32, random and unique
//! per event, shown as a QR code and printed under it for typing at the door.

use std::fmt;

/// Crockford's base32: digits and capitals without I, L, O and U, which are misread.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The characters of a code.
pub const LENGTH: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TicketCode(String);

impl TicketCode {
    /// A new random code: 50 bits from the system's random source.
    pub fn generate() -> Self {
        let bits: u64 = rand::random();
        Self((0..LENGTH).map(|i| ALPHABET[((bits >> (5 * i)) & 31) as usize] as char).collect())
    }

    /// A code as someone typed it or a camera read it: case, spaces and hyphens do not
    /// matter, and the letters Crockford reads as digits (O as 0, I and L as 1) are taken as
    /// those digits. `None` when it cannot be a code.
    pub fn parse(input: &str) -> Option<Self> {
        let mut code = String::with_capacity(LENGTH);
        for c in input.chars().filter(|c| !c.is_whitespace() && *c != '-') {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
                _ => return None,
            };
            code.push(c);
            if code.len() > LENGTH {
                return None;
            }
        }
        (code.len() == LENGTH).then_some(Self(code))
    }

    /// A code already stored.
    pub fn stored(code: String) -> Self {
        Self(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code in two groups of five, as printed under the QR code: easier to read aloud.
    pub fn grouped(&self) -> String {
        let (a, b) = self.0.split_at(self.0.len().min(5));
        format!("{a} {b}")
    }

    /// The code as a QR code in a PNG image, black on white with the quiet zone the standard
    /// asks for, `scale` pixels to a module.
    pub fn qr_png(&self, scale: u32) -> Result<Vec<u8>, String> {
        let code = qrcode::QrCode::with_error_correction_level(self.0.as_bytes(), qrcode::EcLevel::M).map_err(|e| e.to_string())?;
        let modules = code.width() as u32;
        let colours = code.to_colors();
        let quiet = 4;
        let side = (modules + 2 * quiet) * scale;
        let mut pixels = vec![255u8; (side * side) as usize];
        for (i, colour) in colours.iter().enumerate() {
            if *colour != qrcode::Color::Dark {
                continue;
            }
            let (mx, my) = (i as u32 % modules, i as u32 / modules);
            for y in (my + quiet) * scale..(my + quiet + 1) * scale {
                let row = (y * side) as usize;
                pixels[row + ((mx + quiet) * scale) as usize..row + ((mx + quiet + 1) * scale) as usize].fill(0);
            }
        }
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&pixels).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())?;
        Ok(out)
    }
}

impl fmt::Display for TicketCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_codes_are_ten_characters_of_the_alphabet() {
        for _ in 0..1000 {
            let code = TicketCode::generate();
            assert_eq!(code.as_str().len(), LENGTH);
            assert!(code.as_str().bytes().all(|b| ALPHABET.contains(&b)), "{code}");
            assert_eq!(TicketCode::parse(code.as_str()), Some(code));
        }
    }

    #[test]
    fn typed_codes_forgive_case_spaces_and_look_alikes() {
        let code = TicketCode::parse("0123456789").unwrap_or_else(|| panic!("a code"));
        assert_eq!(TicketCode::parse("o1234 56789"), Some(code.clone()));
        assert_eq!(TicketCode::parse("O-I23456789"), Some(TicketCode::parse("0123456789").unwrap_or_else(|| panic!())));
        assert_eq!(TicketCode::parse("OL23456789"), Some(code.clone()));
        assert_eq!(code.grouped(), "01234 56789");
        for bad in ["", "012345678", "01234567890", "0123456789U", "01234567U9", "012345678é", "0123\r\n456789x"] {
            assert_eq!(TicketCode::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_qr_code_is_a_png() {
        let png = TicketCode::generate().qr_png(6).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
}

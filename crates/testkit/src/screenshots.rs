//! Screenshots of the browser tests: kept under target/screenshots for
//! people, and decoded to check that a page was drawn (colours, dark text
//! on a light background).

use std::path::Path;

/// Saves a screenshot under target/screenshots.
pub fn keep(png: &[u8], name: &str) -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), png)?;
    Ok(())
}

/// A decoded screenshot, as 8-bit RGB.
pub struct Rgb {
    pub width: u32,
    pub height: u32,
    pixels: Vec<[u8; 3]>,
}

impl Rgb {
    pub fn decode(png_bytes: &[u8]) -> anyhow::Result<Self> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info()?;
        let mut buffer = vec![
            0;
            reader.output_buffer_size().ok_or_else(|| anyhow::anyhow!(
                "the screenshot is too large to decode"
            ))?
        ];
        let frame = reader.next_frame(&mut buffer)?;
        let channels = match frame.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => anyhow::bail!("unexpected screenshot colour type {other:?}"),
        };
        let pixels = buffer[..frame.buffer_size()]
            .chunks_exact(channels)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        Ok(Self {
            width: frame.width,
            height: frame.height,
            pixels,
        })
    }

    fn region(&self, x: u32, y: u32, w: u32, h: u32) -> impl Iterator<Item = [u8; 3]> + '_ {
        (y..(y + h).min(self.height)).flat_map(move |row| {
            (x..(x + w).min(self.width))
                .map(move |col| self.pixels[(row * self.width + col) as usize])
        })
    }

    pub fn colours(&self, x: u32, y: u32, w: u32, h: u32) -> usize {
        self.region(x, y, w, h)
            .collect::<std::collections::HashSet<_>>()
            .len()
    }

    /// Pixels darker than mid-grey and lighter than almost white.
    pub fn dark_and_light(&self, x: u32, y: u32, w: u32, h: u32) -> (u32, u32) {
        self.region(x, y, w, h)
            .fold((0, 0), |(dark, light), [r, g, b]| {
                let luma = (u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000;
                (dark + u32::from(luma < 110), light + u32::from(luma > 235))
            })
    }
}

//! A vt100 screen drawn into a PNG: every cell's character in DejaVu Sans Mono (bold where the
//! terminal would use bold), its colours (the 16 ANSI colours from a dark palette, the 256-colour
//! cube, RGB), reverse video, underline and the cursor.

use std::{fs, io::BufWriter, path::Path};

use ab_glyph::{Font, FontVec, GlyphId, PxScale, ScaleFont, point};
use anyhow::{Context, Result};

const FONT_DIR: &str = "/usr/share/fonts/truetype/dejavu";
/// Pixels per terminal cell.
const CELL_WIDTH: u32 = 9;
const CELL_HEIGHT: u32 = 18;

type Rgb = [u8; 3];

const DEFAULT_FG: Rgb = [0xc8, 0xcf, 0xe8];
const DEFAULT_BG: Rgb = [0x12, 0x13, 0x1a];
/// ANSI colours 0-15 on a dark background.
const PALETTE: [Rgb; 16] = [
    [0x15, 0x16, 0x1e], // black
    [0xf7, 0x76, 0x8e], // red
    [0x9e, 0xce, 0x6a], // green
    [0xe0, 0xaf, 0x68], // yellow
    [0x7a, 0xa2, 0xf7], // blue
    [0xbb, 0x9a, 0xf7], // magenta
    [0x7d, 0xcf, 0xff], // cyan
    [0xa9, 0xb1, 0xd6], // white (ratatui's Gray)
    [0x6b, 0x70, 0x89], // bright black (ratatui's DarkGray)
    [0xff, 0x89, 0x9d], // bright red
    [0xb9, 0xf2, 0x7c], // bright green
    [0xff, 0xc7, 0x77], // bright yellow
    [0x8d, 0xb0, 0xff], // bright blue
    [0xc7, 0xa9, 0xff], // bright magenta
    [0xa4, 0xda, 0xff], // bright cyan
    [0xe6, 0xea, 0xf8], // bright white
];

pub struct Renderer {
    regular: FontVec,
    bold: FontVec,
    /// For the few characters the monospace face lacks (its proportional sibling has more).
    fallback: FontVec,
    scale: PxScale,
    /// Pixels from the cell's top to the baseline.
    baseline: f32,
}

fn load_font(name: &str) -> Result<FontVec> {
    let path = Path::new(FONT_DIR).join(name);
    let bytes = fs::read(&path).with_context(|| {
        format!(
            "reading the font {} (Debian's fonts-dejavu-core; `cargo xtask setup` installs it)",
            path.display()
        )
    })?;
    FontVec::try_from_vec(bytes).with_context(|| format!("parsing the font {}", path.display()))
}

impl Renderer {
    pub fn new() -> Result<Renderer> {
        let regular = load_font("DejaVuSansMono.ttf")?;
        let bold = load_font("DejaVuSansMono-Bold.ttf")?;
        let fallback = load_font("DejaVuSans.ttf")?;
        // The font's line (ascent to descent) fills the cell's height, so box-drawing glyphs
        // meet; the horizontal scale is narrowed a touch so an advance is exactly one cell.
        let height = CELL_HEIGHT as f32;
        let advance = regular
            .as_scaled(PxScale::from(height))
            .h_advance(regular.glyph_id('M'));
        let scale = PxScale {
            x: height * CELL_WIDTH as f32 / advance,
            y: height,
        };
        let baseline = regular.as_scaled(scale).ascent().round();
        Ok(Renderer {
            regular,
            bold,
            fallback,
            scale,
            baseline,
        })
    }

    /// Draws `screen` and writes it to `path` as an RGB PNG.
    pub fn write_png(&self, screen: &vt100::Screen, path: &Path) -> Result<()> {
        let image = self.draw(screen);
        let file =
            fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut encoder = png::Encoder::new(BufWriter::new(file), image.width, image.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::High);
        let mut writer = encoder
            .write_header()
            .with_context(|| format!("writing {}", path.display()))?;
        writer
            .write_image_data(&image.pixels)
            .and_then(|()| writer.finish())
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    fn draw(&self, screen: &vt100::Screen) -> Image {
        let (rows, cols) = screen.size();
        let mut image = Image::new(
            u32::from(cols) * CELL_WIDTH,
            u32::from(rows) * CELL_HEIGHT,
            DEFAULT_BG,
        );
        let cursor = (!screen.hide_cursor()).then(|| screen.cursor_position());
        // Backgrounds first: a glyph may reach a pixel into its neighbour's cell.
        let mut glyphs = Vec::new();
        for row in 0..rows {
            for col in 0..cols {
                let Some(cell) = screen.cell(row, col) else {
                    continue;
                };
                if cell.is_wide_continuation() {
                    continue;
                }
                let (mut fg, mut bg) = (
                    resolve(cell.fgcolor(), DEFAULT_FG),
                    resolve(cell.bgcolor(), DEFAULT_BG),
                );
                if cell.dim() {
                    fg = mix(bg, fg, 0.55);
                }
                if cell.inverse() != (cursor == Some((row, col))) {
                    (fg, bg) = (bg, fg);
                }
                let span = if cell.is_wide() { 2 } else { 1 };
                let x = u32::from(col) * CELL_WIDTH;
                let y = u32::from(row) * CELL_HEIGHT;
                image.fill(x, y, CELL_WIDTH * span, CELL_HEIGHT, bg);
                if cell.underline() {
                    let under = y + self.baseline as u32 + 2;
                    image.fill(x, under.min(y + CELL_HEIGHT - 1), CELL_WIDTH * span, 1, fg);
                }
                if let Some(c) = cell.contents().chars().next().filter(|c| *c != ' ') {
                    glyphs.push((c, x, y, span, fg, cell.bold()));
                }
            }
        }
        for (c, x, y, span, fg, bold) in glyphs {
            if !draw_geometric(&mut image, c, x, y, fg) {
                self.draw_glyph(&mut image, c, x, y, span, fg, bold);
            }
        }
        image
    }

    #[allow(clippy::too_many_arguments)]
    fn draw_glyph(
        &self,
        image: &mut Image,
        c: char,
        x: u32,
        y: u32,
        span: u32,
        fg: Rgb,
        bold: bool,
    ) {
        let face = if bold { &self.bold } else { &self.regular };
        let (font, id) = match face.glyph_id(c) {
            GlyphId(0) => (&self.fallback, self.fallback.glyph_id(c)),
            id => (face, id),
        };
        // Centre the glyph in its cells: exact for the monospace faces, and keeps a fallback
        // glyph of another width where it belongs.
        let advance = font.as_scaled(self.scale).h_advance(id);
        let left = x as f32 + ((CELL_WIDTH * span) as f32 - advance) / 2.0;
        let glyph = id.with_scale_and_position(self.scale, point(left, y as f32 + self.baseline));
        let Some(outline) = font.outline_glyph(glyph) else {
            return;
        };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            image.blend(px, py, fg, coverage);
        });
    }
}

/// Draws the box-drawing lines and block elements ratatui uses, pixel-exact, so that borders
/// join and sparkline bars sit on one baseline. Returns false for any other character.
fn draw_geometric(image: &mut Image, c: char, x: u32, y: u32, fg: Rgb) -> bool {
    let (w, h) = (CELL_WIDTH, CELL_HEIGHT);
    let (mid_x, mid_y) = (x + w / 2, y + h / 2);
    // Which arms of a light line leave the centre: up, down, left, right.
    let arms = match c {
        '─' => Some((false, false, true, true)),
        '│' => Some((true, true, false, false)),
        '┌' | '╭' => Some((false, true, false, true)),
        '┐' | '╮' => Some((false, true, true, false)),
        '└' | '╰' => Some((true, false, false, true)),
        '┘' | '╯' => Some((true, false, true, false)),
        '├' => Some((true, true, false, true)),
        '┤' => Some((true, true, true, false)),
        '┬' => Some((false, true, true, true)),
        '┴' => Some((true, false, true, true)),
        '┼' => Some((true, true, true, true)),
        _ => None,
    };
    if let Some((up, down, left, right)) = arms {
        if up {
            image.fill(mid_x, y, 1, mid_y - y + 1, fg);
        }
        if down {
            image.fill(mid_x, mid_y, 1, y + h - mid_y, fg);
        }
        if left {
            image.fill(x, mid_y, mid_x - x + 1, 1, fg);
        }
        if right {
            image.fill(mid_x, mid_y, x + w - mid_x, 1, fg);
        }
        return true;
    }
    // Lower eighth blocks ▁ (1/8) to █ (8/8), and the upper half ▀.
    if ('\u{2581}'..='\u{2588}').contains(&c) {
        let eighths = c as u32 - 0x2580;
        let height = (h * eighths + 4) / 8;
        image.fill(x, y + h - height, w, height, fg);
        return true;
    }
    if c == '▀' {
        image.fill(x, y, w, h / 2, fg);
        return true;
    }
    false
}

/// A terminal colour as RGB; `Default` is the terminal's own foreground or background.
fn resolve(color: vt100::Color, default: Rgb) -> Rgb {
    match color {
        vt100::Color::Default => default,
        vt100::Color::Rgb(r, g, b) => [r, g, b],
        vt100::Color::Idx(index) => indexed(index),
    }
}

/// xterm's 256 colours: the palette, a 6x6x6 cube, then 24 greys.
fn indexed(index: u8) -> Rgb {
    match index {
        0..=15 => PALETTE[usize::from(index)],
        16..=231 => {
            let level = |n: u8| if n == 0 { 0 } else { 55 + n * 40 };
            let n = index - 16;
            [level(n / 36), level(n / 6 % 6), level(n % 6)]
        }
        _ => {
            let grey = 8 + (index - 232) * 10;
            [grey; 3]
        }
    }
}

/// `from` moved towards `to` by `amount` (0 to 1).
fn mix(from: Rgb, to: Rgb, amount: f32) -> Rgb {
    let channel =
        |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * amount).round() as u8;
    [
        channel(from[0], to[0]),
        channel(from[1], to[1]),
        channel(from[2], to[2]),
    ]
}

struct Image {
    width: u32,
    height: u32,
    /// RGB, row by row.
    pixels: Vec<u8>,
}

impl Image {
    fn new(width: u32, height: u32, color: Rgb) -> Image {
        Image {
            width,
            height,
            pixels: color.repeat((width * height) as usize),
        }
    }

    fn fill(&mut self, x: u32, y: u32, width: u32, height: u32, color: Rgb) {
        for row in y..(y + height).min(self.height) {
            for col in x..(x + width).min(self.width) {
                let at = ((row * self.width + col) * 3) as usize;
                self.pixels[at..at + 3].copy_from_slice(&color);
            }
        }
    }

    /// Covers the pixel with `color` by `coverage` (0 to 1); outside the image, nothing.
    fn blend(&mut self, x: i64, y: i64, color: Rgb, coverage: f32) {
        let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y)) else {
            return;
        };
        if x >= self.width || y >= self.height {
            return;
        }
        let at = ((y * self.width + x) * 3) as usize;
        let under = [self.pixels[at], self.pixels[at + 1], self.pixels[at + 2]];
        let mixed = mix(under, color, coverage.clamp(0.0, 1.0));
        self.pixels[at..at + 3].copy_from_slice(&mixed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_256_colour_cube_and_greys() {
        assert_eq!(indexed(16), [0, 0, 0]);
        assert_eq!(indexed(21), [0, 0, 255]);
        assert_eq!(indexed(196), [255, 0, 0]);
        assert_eq!(indexed(231), [255, 255, 255]);
        assert_eq!(indexed(232), [8, 8, 8]);
        assert_eq!(indexed(255), [238, 238, 238]);
    }

    #[test]
    fn borders_join_and_bars_stand_on_the_bottom() {
        let mut image = Image::new(CELL_WIDTH * 2, CELL_HEIGHT, [0; 3]);
        let white = [255; 3];
        assert!(draw_geometric(&mut image, '─', 0, 0, white));
        assert!(draw_geometric(&mut image, '─', CELL_WIDTH, 0, white));
        let row = CELL_HEIGHT / 2;
        for col in 0..CELL_WIDTH * 2 {
            let at = ((row * image.width + col) * 3) as usize;
            assert_eq!(image.pixels[at], 255, "gap at column {col}");
        }
        let mut bar = Image::new(CELL_WIDTH, CELL_HEIGHT, [0; 3]);
        assert!(draw_geometric(&mut bar, '▁', 0, 0, white));
        let last_row = ((CELL_HEIGHT - 1) * CELL_WIDTH * 3) as usize;
        assert_eq!(bar.pixels[last_row], 255);
        assert!(!draw_geometric(&mut bar, 'a', 0, 0, white));
    }
}

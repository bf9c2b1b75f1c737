//! Image variants, computed without I/O: decode the original as its declared type (turned as
//! its EXIF orientation says), then resize it to each preset's box (aspect ratio kept, never
//! enlarged) and encode it; the rendition served for the original is the decoded image encoded
//! at full size. Encoding starts from pixels only, so nothing of the original's metadata (EXIF
//! with its GPS position, XMP, PNG text chunks, ICC profiles) reaches what is served. Callers
//! run this on a blocking thread (`spawn_blocking`): decoding and resizing are CPU-bound.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder as _, ImageFormat, ImageReader, Limits};
use nova_media::repo::media_variants::Preset;

/// The box (width, height) an image preset fits in.
pub fn preset_box(preset: Preset) -> Option<(u32, u32)> {
    match preset {
        Preset::Thumbnail => Some((150, 150)),
        Preset::ImageSmall => Some((320, 320)),
        Preset::ImageMedium => Some((720, 720)),
        Preset::ImageLarge => Some((1080, 1080)),
        Preset::VideoHls => None,
    }
}

/// The largest width or height decoded.
const MAX_SIDE_PIXELS: u32 = 16_384;
/// The most memory one decode may allocate.
const MAX_DECODED_BYTES: u64 = 512 * 1024 * 1024;

/// The presets produced for an image when the request names none.
pub const DEFAULT_IMAGE_PRESETS: [Preset; 2] = [Preset::Thumbnail, Preset::ImageMedium];

/// The size of a `width` x `height` image fitted in `max_w` x `max_h`: scaled by the smaller
/// ratio, rounded to the nearest pixel (at least 1), never enlarged.
pub fn fit(width: u32, height: u32, max_w: u32, max_h: u32) -> (u32, u32) {
    if width <= max_w && height <= max_h {
        return (width, height);
    }
    // Compare ratios without floats: scale by max_w/width when that is the smaller one.
    let by_width = u64::from(max_w) * u64::from(height) <= u64::from(max_h) * u64::from(width);
    let scale = |value: u32, num: u32, den: u32| -> u32 {
        let scaled = (u64::from(value) * u64::from(num) * 2 + u64::from(den)) / (u64::from(den) * 2);
        u32::try_from(scaled.max(1)).unwrap_or(u32::MAX)
    };
    if by_width { (max_w, scale(height, max_w, width)) } else { (scale(width, max_h, height), max_h) }
}

/// A decoded original.
pub struct Decoded {
    pub image: DynamicImage,
    pub format: ImageFormat,
}

/// An image encoded for serving: its type and bytes.
pub struct Encoding {
    pub mime_type: &'static str,
    pub bytes: Vec<u8>,
}

/// One produced variant.
pub struct Encoded {
    pub preset: Preset,
    pub width: u32,
    pub height: u32,
    pub mime_type: &'static str,
    pub bytes: Vec<u8>,
}

/// The image formats the service accepts, by MIME type.
pub fn image_format(mime_type: &str) -> Option<ImageFormat> {
    match mime_type {
        "image/png" => Some(ImageFormat::Png),
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Decodes `bytes` as `mime_type`; the error is the reason the media fails.
pub fn decode(bytes: &[u8], mime_type: &str) -> Result<Decoded, String> {
    let format = image_format(mime_type).ok_or_else(|| format!("{mime_type} is not an image type this service decodes"))?;
    // Explicit limits: a small file must not claim a huge canvas (a decompression bomb).
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE_PIXELS);
    limits.max_image_height = Some(MAX_SIDE_PIXELS);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let undecodable = |e: image::ImageError| format!("the bytes are not a decodable {mime_type} image: {e}");
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    // A camera stores the sensor's pixels and says how to turn them; the served image has no
    // EXIF to say it, so the pixels are turned here (an unreadable orientation is ignored).
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    image.apply_orientation(orientation);
    Ok(Decoded { image, format })
}

/// `image` encoded as served for an original in `format`: JPEG (quality 85) for JPEG, PNG
/// (lossless, keeps transparency) for PNG and WebP. Only pixels are written: no metadata.
fn encode(image: &DynamicImage, format: ImageFormat, what: &str) -> Result<Encoding, String> {
    let mut bytes = Cursor::new(Vec::new());
    let mime_type = if format == ImageFormat::Jpeg {
        DynamicImage::ImageRgb8(image.to_rgb8())
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 85))
            .map_err(|e| format!("encoding the {what}: {e}"))?;
        "image/jpeg"
    } else {
        image.write_to(&mut bytes, ImageFormat::Png).map_err(|e| format!("encoding the {what}: {e}"))?;
        "image/png"
    };
    Ok(Encoding { mime_type, bytes: bytes.into_inner() })
}

/// The rendition served for the original: the decoded image at full size, re-encoded.
pub fn rendition(decoded: &Decoded) -> Result<Encoding, String> {
    encode(&decoded.image, decoded.format, "full-size rendition")
}

/// Produces `preset` from `decoded`: PNG for PNG and WebP originals (lossless, keeps
/// transparency), JPEG (quality 85) for JPEG originals.
pub fn produce(decoded: &Decoded, preset: Preset) -> Result<Encoded, String> {
    let (max_w, max_h) = preset_box(preset).ok_or_else(|| format!("{} is not an image preset", preset.name()))?;
    let (width, height) = fit(decoded.image.width(), decoded.image.height(), max_w, max_h);
    let resized = if (width, height) == (decoded.image.width(), decoded.image.height()) {
        decoded.image.clone()
    } else {
        decoded.image.resize_exact(width, height, FilterType::Triangle)
    };
    let Encoding { mime_type, bytes } = encode(&resized, decoded.format, &format!("{} variant", preset.name()))?;
    Ok(Encoded { preset, width, height, mime_type, bytes })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fit_keeps_the_aspect_ratio_rounds_and_never_enlarges() {
        assert_eq!(fit(640, 480, 150, 150), (150, 113));
        assert_eq!(fit(480, 640, 150, 150), (113, 150));
        assert_eq!(fit(640, 480, 720, 720), (640, 480));
        assert_eq!(fit(1920, 1080, 720, 720), (720, 405));
        assert_eq!(fit(100, 100, 150, 150), (100, 100));
        assert_eq!(fit(10_000, 1, 150, 150), (150, 1));
        assert_eq!(fit(300, 300, 150, 150), (150, 150));
    }

    #[test]
    fn undecodable_bytes_give_a_reason() {
        let error = decode(b"not a png", "image/png").err().unwrap();
        assert!(error.contains("image/png"), "{error}");
    }
}

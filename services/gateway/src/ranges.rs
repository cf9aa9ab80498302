//! Files answered with their bytes, whole or in part (`Range: bytes=…`,
//! RFC 9110 §14): players seek in long media and read HLS segments by byte
//! range, so every download the gateway serves takes a single range.

use std::ops::Range;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use futures::StreamExt;

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    /// No range, or one the server may ignore (several ranges, another unit).
    Whole,
    Part(Range<u64>),
    /// Starts past the end.
    Unsatisfiable,
}

pub fn wanted(header: Option<&str>, size: u64) -> Wanted {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Wanted::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.parse::<u64>(), last.parse::<u64>()) {
        // The last `n` bytes.
        (Err(_), Ok(n)) if first.is_empty() => {
            if n == 0 {
                return Wanted::Unsatisfiable;
            }
            size.saturating_sub(n)..size
        }
        (Ok(start), Err(_)) if last.is_empty() => start..size,
        (Ok(start), Ok(end)) if end >= start => start..(end + 1).min(size),
        _ => return Wanted::Whole,
    };
    if range.start >= size {
        Wanted::Unsatisfiable
    } else {
        Wanted::Part(range)
    }
}

/// How a served file is offered.
pub struct Offer<'a> {
    pub content_type: &'a str,
    /// `attachment; filename=…` when set; shown in place otherwise.
    pub download_as: Option<&'a str>,
    pub cache_control: &'a str,
}

/// The stored object `key`, whole (200) or the range the request asks for
/// (206; 416 past its end), streamed from storage.
pub async fn serve(
    state: &AppState,
    req: &HttpRequest,
    key: &str,
    offer: Offer<'_>,
) -> Result<HttpResponse, ApiError> {
    let size = state.storage.size(key).await?;
    let asked = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let (mut response, range) = match wanted(asked, size) {
        Wanted::Whole => (HttpResponse::Ok(), 0..size),
        Wanted::Part(range) => {
            let mut r = HttpResponse::PartialContent();
            r.insert_header((
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{size}", range.start, range.end - 1),
            ));
            (r, range)
        }
        Wanted::Unsatisfiable => {
            let mut refused = actix_web::ResponseError::error_response(&ApiError::new(
                Code::RangeNotSatisfiable,
                format!("the file is {size} bytes; the range asked for starts past its end"),
            ));
            refused.headers_mut().insert(
                header::CONTENT_RANGE,
                header::HeaderValue::from_str(&format!("bytes */{size}"))
                    .expect("a number is a header value"),
            );
            return Ok(refused);
        }
    };
    let length = range.end - range.start;
    let body = if length == size {
        state.storage.stream(key).await?
    } else {
        state.storage.stream_range(key, range).await?
    }
    .map(|chunk| chunk.map_err(actix_web::error::ErrorInternalServerError));
    response
        .content_type(offer.content_type)
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::CACHE_CONTROL, offer.cache_control));
    if let Some(name) = offer.download_as {
        response.insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", name.replace('"', "")),
        ));
    }
    Ok(response.no_chunking(length).streaming(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(wanted(None, 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=0-9"), 100), Wanted::Part(0..10));
        assert_eq!(wanted(Some("bytes=90-"), 100), Wanted::Part(90..100));
        assert_eq!(wanted(Some("bytes=-10"), 100), Wanted::Part(90..100));
        assert_eq!(wanted(Some("bytes=-500"), 100), Wanted::Part(0..100));
        assert_eq!(wanted(Some("bytes=50-500"), 100), Wanted::Part(50..100));
        assert_eq!(wanted(Some("bytes=100-"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=-0"), 100), Wanted::Unsatisfiable);
        // Ignored: the whole file is the answer.
        assert_eq!(wanted(Some("bytes=0-1,5-6"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("items=0-1"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=9-3"), 100), Wanted::Whole);
    }
}

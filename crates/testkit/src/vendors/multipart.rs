//! The multipart/form-data bodies clients send the vendor fakes, read by
//! multer (the parser hyper and axum servers use), so a fake checks the
//! fields a vendor would see.

/// One part: its field name, file name if any, and bytes.
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

/// The parts of `body` sent with `content_type`, or why it is not
/// multipart/form-data.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| format!("content-type must be multipart/form-data with a boundary ({e})"))?;
    let body = bytes::Bytes::copy_from_slice(body);
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    // The whole body is in memory: nothing waits on I/O.
    futures::executor::block_on(async {
        let mut parts = Vec::new();
        while let Some(field) = form.next_field().await.map_err(|e| e.to_string())? {
            let name = field.name().ok_or("a part has no name")?.to_owned();
            let filename = field.file_name().map(str::to_owned);
            let data = field.bytes().await.map_err(|e| e.to_string())?.to_vec();
            parts.push(Part {
                name,
                filename,
                data,
            });
        }
        Ok(parts)
    })
}

//! The fixed set of static files the WebSocket port serves over plain HTTP, embedded in the
//! binary (no file system access, no directory listing): `GET /` is the viewer page.

/// One embedded file.
pub struct Page {
    /// The request path it answers.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

/// Every file served; any other path is 404.
pub const PAGES: &[Page] = &[Page {
    path: "/",
    content_type: "text/html; charset=utf-8",
    body: include_bytes!("../../../assets/viewer/index.html"),
}];

/// The page for a request path (the query is ignored).
pub fn find(path: &str) -> Option<&'static Page> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let path = if path == "/index.html" { "/" } else { path };
    PAGES.iter().find(|p| p.path == path)
}

//! The fixed set of static files the WebSocket port serves over plain HTTP, embedded in the
//! binary (no file system access, no directory listing): `GET /` is the browser viewer.
//!
//! The viewer (`assets/viewer/`) is a client like any other: it opens a WebSocket back to the
//! same port and speaks JSON-RPC (`goxel.get_chunks`, `goxel.subscribe`, ...), so it sees
//! exactly what its token allows, and the files themselves hold no data. No library and no
//! CDN: a small WebGL2 renderer of our own (`renderer.js`), chunk meshes with culled inner
//! faces (`mesh.js`), the `get_chunks` decoder (`chunks.js`), the page's wiring (`viewer.js`).

/// One embedded file.
pub struct Page {
    /// The request path it answers.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// Every file served; any other path is 404.
pub const PAGES: &[Page] = &[
    Page {
        path: "/",
        content_type: HTML,
        body: include_bytes!("../../../assets/viewer/index.html"),
    },
    Page {
        path: "/viewer.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../../assets/viewer/viewer.css"),
    },
    Page {
        path: "/viewer.js",
        content_type: JS,
        body: include_bytes!("../../../assets/viewer/viewer.js"),
    },
    Page {
        path: "/mesh.js",
        content_type: JS,
        body: include_bytes!("../../../assets/viewer/mesh.js"),
    },
    Page {
        path: "/chunks.js",
        content_type: JS,
        body: include_bytes!("../../../assets/viewer/chunks.js"),
    },
    Page {
        path: "/renderer.js",
        content_type: JS,
        body: include_bytes!("../../../assets/viewer/renderer.js"),
    },
];

/// The page for a request path (the query is ignored).
pub fn find(path: &str) -> Option<&'static Page> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let path = if path == "/index.html" { "/" } else { path };
    PAGES.iter().find(|p| p.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_every_module_it_imports_are_served() {
        let page = std::str::from_utf8(find("/").expect("the page").body).expect("utf-8");
        for reference in ["viewer.css", "viewer.js"] {
            assert!(page.contains(reference), "index.html refers to {reference}");
        }
        for p in PAGES {
            let text = std::str::from_utf8(p.body).expect("utf-8");
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let module = line.rsplit("'./").next().and_then(|s| s.split('\'').next());
                let module =
                    module.unwrap_or_else(|| panic!("{}: import without ./: {line}", p.path));
                assert!(
                    find(&format!("/{module}")).is_some(),
                    "{} imports {module}, not served",
                    p.path
                );
            }
        }
        assert!(find("/viewer.js?v=1").is_some(), "a query is ignored");
        assert!(find("/index.html").is_some());
        assert!(find("/../Cargo.toml").is_none());
        assert!(find("/nothing.js").is_none());
    }
}

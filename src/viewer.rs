//! The browser viewer's static files (`web/`), embedded in the binary so that `voxeld serve`
//! needs nothing beside itself: the WebSocket transport serves them over plain HTTP `GET` on
//! its port (`/` is the page). The page is a client like any other: it opens a WebSocket back
//! to the same port and speaks JSON-RPC (`goxel.get_chunks`, `goxel.subscribe`, ...), so it
//! sees exactly what its token allows. No library and no CDN: a small WebGL2 renderer of our
//! own (`web/renderer.js`), chunk meshes with culled inner faces (`web/mesh.js`).

/// One embedded file.
#[derive(Clone, Copy, Debug)]
pub struct Asset {
    /// The `Content-Type` it is served with.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

const ASSETS: &[(&str, Asset)] = &[
    ("/", html(include_bytes!("../web/index.html"))),
    ("/index.html", html(include_bytes!("../web/index.html"))),
    (
        "/viewer.css",
        file(
            "text/css; charset=utf-8",
            include_bytes!("../web/viewer.css"),
        ),
    ),
    ("/viewer.js", script(include_bytes!("../web/viewer.js"))),
    ("/mesh.js", script(include_bytes!("../web/mesh.js"))),
    ("/chunks.js", script(include_bytes!("../web/chunks.js"))),
    ("/renderer.js", script(include_bytes!("../web/renderer.js"))),
];

const fn file(content_type: &'static str, body: &'static [u8]) -> Asset {
    Asset { content_type, body }
}

const fn html(body: &'static [u8]) -> Asset {
    file("text/html; charset=utf-8", body)
}

const fn script(body: &'static [u8]) -> Asset {
    file("text/javascript; charset=utf-8", body)
}

/// The file served at `path` (the request target without its query), if any.
pub fn asset(path: &str) -> Option<Asset> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    ASSETS.iter().find(|(p, _)| *p == path).map(|(_, a)| *a)
}

/// Every path served, for listings and tests.
pub fn paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|(p, _)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_every_module_it_imports_are_served() {
        let page = std::str::from_utf8(asset("/").expect("the page").body).expect("utf-8");
        for reference in ["viewer.css", "viewer.js"] {
            assert!(page.contains(reference), "index.html refers to {reference}");
        }
        for (path, a) in ASSETS {
            let text = std::str::from_utf8(a.body).expect("utf-8");
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let module = line.rsplit("'./").next().and_then(|s| s.split('\'').next());
                let module =
                    module.unwrap_or_else(|| panic!("{path}: import without a ./ path: {line}"));
                assert!(
                    asset(&format!("/{module}")).is_some(),
                    "{path} imports {module}, which is not served"
                );
            }
        }
        assert!(asset("/viewer.js?v=1").is_some(), "a query is ignored");
        assert!(asset("/../Cargo.toml").is_none());
        assert!(asset("/nothing.js").is_none());
    }
}

//! The demo site: static files served by `GET` next to the KMS API.
//!
//! `/pkg/<path>` comes from the package directory (the npm package's `web` build lives in
//! `pkg/web/`), every other path from the site directory (`/` is its `index.html`). Only
//! `GET` and `HEAD` are answered, only regular files inside the two directories are served
//! (no `..`, no hidden files, no percent-escapes, no symlink out of a root), and the KMS
//! API at `POST /` is untouched: [`StaticSite::routes`] adds `GET /` and a `GET` fallback.

use std::path::{Component, Path, PathBuf};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The two directories the site is served from.
#[derive(Debug, Clone)]
pub struct StaticSite {
    www: PathBuf,
    pkg: PathBuf,
}

/// Why a site cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// A directory does not exist or cannot be read.
    #[error("{what} directory {path}: {source}")]
    Directory {
        /// Which directory (`www` or `pkg`).
        what: &'static str,
        /// The path as given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl StaticSite {
    /// A site over `www` and `pkg`; both must be existing directories (they are resolved
    /// to absolute paths now, so a later change of working directory does not matter).
    ///
    /// # Errors
    /// [`SiteError::Directory`] if either is missing or not a directory.
    pub fn new(www: &Path, pkg: &Path) -> Result<Self, SiteError> {
        let dir = |what: &'static str, path: &Path| {
            let err = |source| SiteError::Directory { what, path: path.to_owned(), source };
            let resolved = path.canonicalize().map_err(err)?;
            if !resolved.is_dir() {
                return Err(err(std::io::Error::other("not a directory")));
            }
            Ok(resolved)
        };
        Ok(Self { www: dir("www", www)?, pkg: dir("pkg", pkg)? })
    }

    /// The package directory beside `www` (`www/../pkg`).
    pub fn sibling_pkg(www: &Path) -> PathBuf {
        www.parent().unwrap_or(Path::new(".")).join("pkg")
    }

    /// `GET /` and a `GET` fallback serving the site; merge into the API router.
    pub fn routes<S>(self) -> Router<S> {
        Router::new()
            .route("/", get(serve))
            .fallback_service(get(serve).with_state(self.clone()))
            .with_state(self)
    }

    /// The file a request path names, if it is a safe path inside one of the roots.
    pub fn resolve(&self, path: &str) -> Option<PathBuf> {
        let rest = path.strip_prefix('/')?;
        let (root, rest) = match rest.strip_prefix("pkg/") {
            Some(inside) => (&self.pkg, inside),
            None if rest == "pkg" => (&self.pkg, ""),
            None => (&self.www, rest),
        };
        let mut file = root.clone();
        for segment in rest.split('/') {
            if segment.is_empty() {
                continue;
            }
            if !safe_segment(segment) {
                return None;
            }
            file.push(segment);
        }
        if rest.is_empty() || rest.ends_with('/') || file.is_dir() {
            file.push("index.html");
        }
        // Symlinks may not lead out of the root.
        let real = file.canonicalize().ok()?;
        (real.starts_with(root) && real.is_file()).then_some(real)
    }
}

/// One path segment that names an ordinary entry: no `.`/`..`, no hidden file, no escape,
/// no backslash or control character.
fn safe_segment(segment: &str) -> bool {
    !segment.starts_with('.')
        && !segment.contains(['%', '\\', ':'])
        && !segment.chars().any(char::is_control)
        && matches!(Path::new(segment).components().next(), Some(Component::Normal(_)))
        && Path::new(segment).components().count() == 1
}

/// The `Content-Type` for a file name.
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "md" | "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

async fn serve(State(site): State<StaticSite>, uri: Uri) -> Response {
    let Some(file) = site.resolve(uri.path()) else {
        return not_found();
    };
    let path = file.clone();
    match tokio::task::spawn_blocking(move || std::fs::read(path)).await {
        Ok(Ok(body)) => {
            let mut response = (StatusCode::OK, body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&file)));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            headers.insert(
                header::HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            );
            response
        }
        Ok(Err(_)) | Err(_) => not_found(),
    }
}

fn not_found() -> Response {
    let mut response = (StatusCode::NOT_FOUND, "not found\n").into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Method, Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn site() -> (tempfile::TempDir, StaticSite) {
        let dir = tempfile::tempdir().unwrap();
        let www = dir.path().join("www");
        let pkg = dir.path().join("pkg");
        std::fs::create_dir_all(www.join("sub")).unwrap();
        std::fs::create_dir_all(pkg.join("web")).unwrap();
        std::fs::write(www.join("index.html"), "<h1>demo</h1>").unwrap();
        std::fs::write(www.join("app.js"), "export {}").unwrap();
        std::fs::write(www.join("sub/index.html"), "sub").unwrap();
        std::fs::write(www.join(".secret"), "hidden").unwrap();
        std::fs::write(pkg.join("web/kms_wasm_bg.wasm"), b"\0asm").unwrap();
        std::fs::write(dir.path().join("outside.txt"), "outside").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside.txt"), www.join("link.txt")).unwrap();
        let site = StaticSite::new(&www, &StaticSite::sibling_pkg(&www)).unwrap();
        (dir, site)
    }

    async fn get(site: &StaticSite, method: Method, path: &str) -> (StatusCode, String, Vec<u8>) {
        let app: Router = site.clone().routes();
        let request = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let ct = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
        (status, ct, body)
    }

    #[tokio::test]
    async fn serves_files_with_their_content_types() {
        let (_dir, site) = site();
        let (s, ct, body) = get(&site, Method::GET, "/").await;
        assert_eq!(
            (s, ct.as_str(), body.as_slice()),
            (StatusCode::OK, "text/html; charset=utf-8", &b"<h1>demo</h1>"[..])
        );
        let (s, ct, _) = get(&site, Method::GET, "/app.js").await;
        assert_eq!((s, ct.as_str()), (StatusCode::OK, "text/javascript; charset=utf-8"));
        let (s, ct, body) = get(&site, Method::GET, "/pkg/web/kms_wasm_bg.wasm").await;
        assert_eq!(
            (s, ct.as_str(), body.as_slice()),
            (StatusCode::OK, "application/wasm", &b"\0asm"[..])
        );
        let (s, _, body) = get(&site, Method::GET, "/sub/").await;
        assert_eq!((s, body.as_slice()), (StatusCode::OK, &b"sub"[..]));
        let (s, _, body) = get(&site, Method::GET, "/sub").await;
        assert_eq!((s, body.as_slice()), (StatusCode::OK, &b"sub"[..]));
        let (s, _, body) = get(&site, Method::HEAD, "/app.js").await;
        assert_eq!(s, StatusCode::OK);
        assert!(body.is_empty());
    }

    #[tokio::test]
    async fn refuses_traversal_hidden_files_and_escapes() {
        let (_dir, site) = site();
        for path in [
            "/../outside.txt",
            "/sub/../../outside.txt",
            "/pkg/../outside.txt",
            "/%2e%2e/outside.txt",
            "/..%2foutside.txt",
            "/.secret",
            "/link.txt",
            "/missing.js",
            "/pkg/web/",
        ] {
            let (s, _, body) = get(&site, Method::GET, path).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(body, b"not found\n", "{path}");
        }
        assert!(site.resolve("/../outside.txt").is_none());
        assert!(site.resolve("relative").is_none());
    }

    #[tokio::test]
    async fn answers_only_get_and_head() {
        let (_dir, site) = site();
        let (s, _, _) = get(&site, Method::PUT, "/app.js").await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
        let (s, _, _) = get(&site, Method::DELETE, "/").await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = StaticSite::new(&dir.path().join("nope"), dir.path()).unwrap_err();
        assert!(err.to_string().contains("www directory"), "{err}");
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert!(StaticSite::new(dir.path(), &file).is_err());
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type(Path::new("a.wasm")), "application/wasm");
        assert_eq!(content_type(Path::new("a.mjs")), "text/javascript; charset=utf-8");
        assert_eq!(content_type(Path::new("a")), "application/octet-stream");
    }
}

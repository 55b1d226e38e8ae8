# swan.rb: Homebrew formula for swan (macOS, Apple Silicon or Intel; Linuxbrew too).
#
# Builds the `swan` program from a release tarball with BLAS/LAPACK from Apple's
# Accelerate (the CMake default on macOS), and installs it with its man page and the
# bash/zsh completions (`cmake --install`). For a release: tag vX.Y.Z, then set `url`
# to that tag's tarball and `sha256` to `shasum -a 256` of it. Until then,
# `brew install --HEAD ./deploy/homebrew/swan.rb` builds the main branch.
class Swan < Formula
  desc "Data-free mixed-precision bit allocation for LLM checkpoints (SWAN)"
  homepage "https://github.com/swan-project/swan"
  url "https://github.com/swan-project/swan/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  head "https://github.com/swan-project/swan.git", branch: "main"

  depends_on "cmake" => :build
  depends_on "pkg-config" => :build
  depends_on "cjson"
  depends_on "libsodium"
  depends_on "msgpack"
  depends_on "zeromq"

  on_linux do
    depends_on "openblas"
  end

  def install
    # Only the program: the tests need cmocka and the ../shared fixtures.
    system "cmake", "-S", ".", "-B", "build", "-DSWAN_TESTS=OFF", *std_cmake_args
    system "cmake", "--build", "build", "--target", "swan"
    system "cmake", "--install", "build"
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/swan --version")
    # The whole pipeline on the built-in synthetic checkpoint: workers, journal, manifest.
    system bin/"swan", "demo", "-q", testpath/"model", testpath/"out"
    assert_predicate testpath/"out/manifest.json", :exist?
    assert_match "\"bits\"", (testpath/"out/manifest.json").read
  end
end

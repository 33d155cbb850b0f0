"""The page of the local server in a real headless Chromium driven by Selenium: images picked on the page come back
as the model's class maps drawn over them, and refused files show the server's error. The screenshot is kept as
test-artifacts/serve_page.png. Skips, saying why, without selenium, /usr/bin/chromium or /usr/bin/chromedriver
(Debian's `chromium` and `chromium-driver`)."""

import os
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import png_bytes

from fcn_keras.export import ModelServer

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
NAMES = ("background", "circle", "square")
MAX_REQUEST_BYTES = 16384

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: pip install -e '.[dev]'")
for program in (CHROMIUM, CHROMEDRIVER):
    if not os.access(program, os.X_OK):
        pytest.skip(f"{program} is missing: apt-get install chromium chromium-driver", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def server(serving_dir):
    with ModelServer(serving_dir, port=0, max_request_bytes=MAX_REQUEST_BYTES) as running:
        running.rest.class_names = NAMES
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1280,1400", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


def test_picked_images_show_the_models_class_maps_and_refusals_the_servers_errors(server, served_fcn, browser,
                                                                                 tmp_path):
    picture = np.random.default_rng(0).integers(0, 256, (24, 40, 3)).astype(np.uint8)
    files = {"photo.png": png_bytes(picture), "notes.txt": b"not an image",
             "large.png": png_bytes(np.random.default_rng(1).integers(0, 256, (96, 96, 3)).astype(np.uint8))}
    assert len(files["large.png"]) > MAX_REQUEST_BYTES
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    browser.get(server.url + "/")
    browser.find_element(By.ID, "files").send_keys("\n".join(str(tmp_path / name) for name in files))
    WebDriverWait(browser, 15).until(lambda driver: driver.execute_script(
        "return window.fcnResults.length === 3 && window.fcnResults.every((record) => record.done);"))

    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "serve_page.png"))  # kept whatever the checks below find
    received = browser.execute_script("return window.fcnResults.map((record) => ({error: record.error || null, "
                                      "heads: record.heads.map((head) => ({width: head.width, height: head.height, "
                                      "classMap: Array.from(head.classMap)}))}));")
    assert received[0]["error"] is None
    [head] = received[0]["heads"]
    expected = keras.ops.convert_to_numpy(served_fcn(picture[None].astype(np.float32)))[0].argmax(-1)
    assert (head["height"], head["width"]) == expected.shape
    np.testing.assert_array_equal(np.reshape(head["classMap"], expected.shape), expected)
    mask = browser.find_element(By.CSS_SELECTOR, ".overlay img.mask")
    assert mask.is_displayed() and browser.execute_script("return arguments[0].naturalWidth;", mask) == 40
    legend = browser.find_element(By.CSS_SELECTOR, ".legend").text
    assert any(f"{name} ({index})" in legend for index, name in enumerate(NAMES))

    errors = [element.text for element in browser.find_elements(By.CSS_SELECTOR, ".status.error")]
    assert errors == ["HTTP 400: Input 'image_bytes' item 1 is not an image: send the bytes of a BMP, GIF, JPEG, "
                      "MPO, PNG, WEBP file.",
                      f"HTTP 413: Request body of {len(files['large.png'])} bytes exceeds this server's limit of "
                      f"{MAX_REQUEST_BYTES} bytes; send fewer or smaller images."]
    assert [record["error"] for record in received[1:]] == errors

    browser.execute_script("const slider = document.getElementById('opacity'); slider.value = 0.8; "
                           "slider.dispatchEvent(new Event('input'));")
    assert browser.execute_script("return getComputedStyle(arguments[0]).opacity;", mask) == "0.8"

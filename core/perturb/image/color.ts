/**
 * RGB <-> HSV on CHW planes, with scikit-image's conventions (skimage.color.rgb2hsv / hsv2rgb,
 * which ImageNet-C's brightness and saturate call): H, S and V all in [0, 1]; V = max(R, G, B);
 * S = (max - min) / V, and 0 where max = min; H is the hexcone hue divided by 6, taken modulo 1,
 * and 0 for grays; when two channels tie for the maximum, blue's formula wins over green's and
 * green's over red's, as in skimage's assignment order (the formulas agree at ties anyway).
 *
 * The HSV planes are float64 because the reference computes in float64: hue and saturation of
 * dark pixels are ratios of small differences, and float32 planes would add rounding the
 * reference does not have. The RGB planes are the float32 images Tempest works on.
 */

import type { Tensor } from '../../tensor/tensor';
import type { PerturbationContext } from '../module';
import { mapImages } from './layout';

/** The HSV plane an adjustment changes. */
export type HsvPlane = 'saturation' | 'value';

const PLANE_INDEX: Record<HsvPlane, number> = { saturation: 1, value: 2 };

/**
 * The mechanism of ImageNet-C's brightness and saturate: convert RGB to HSV, map one plane
 * through clip(plane * scale + shift, 0, 1), convert back. A gray image is its own value plane
 * with hue and saturation 0; the reference's gray paths (brightness adds to the gray level;
 * saturate stacks the gray image to RGB, converts, and keeps the red channel) both reduce to
 * "output = the adjusted value plane", since the red channel of hue 0 is the value whatever the
 * saturation. So a gray image gets the affine map only when the value plane is the one adjusted.
 */
export function adjustHsvPlane(
  batch: Tensor,
  context: PerturbationContext,
  moduleName: string,
  plane: HsvPlane,
  scale: number,
  shift: number,
): Tensor {
  let hsv = new Float64Array(0);
  return mapImages(batch, context, moduleName, (image, output) => {
    const pixels = image.height * image.width;
    if (image.channels === 1) {
      if (plane === 'value') affineClipUnit(image.data, output, 0, pixels, scale, shift);
      else output.set(image.data);
      return;
    }
    if (hsv.length !== 3 * pixels) hsv = new Float64Array(3 * pixels);
    rgbToHsv(image.data, hsv, pixels);
    affineClipUnit(hsv, hsv, PLANE_INDEX[plane] * pixels, pixels, scale, shift);
    hsvToRgb(hsv, output, pixels);
  });
}

/** target[offset + i] = clip(source[offset + i] * scale + shift, 0, 1) for i < count. */
function affineClipUnit(
  source: Float32Array | Float64Array,
  target: Float32Array | Float64Array,
  offset: number,
  count: number,
  scale: number,
  shift: number,
): void {
  for (let i = offset; i < offset + count; i++) {
    const adjusted = source[i] * scale + shift;
    target[i] = adjusted < 0 ? 0 : adjusted > 1 ? 1 : adjusted;
  }
}

/** Convert the three planes of a CHW RGB image (`rgb` holds R, G, B planes of `pixels` each). */
export function rgbToHsv(rgb: Float32Array, hsv: Float64Array, pixels: number): void {
  checkPlanes(rgb.length, hsv.length, pixels);
  const greenOffset = pixels;
  const blueOffset = 2 * pixels;
  for (let i = 0; i < pixels; i++) {
    const red = rgb[i];
    const green = rgb[greenOffset + i];
    const blue = rgb[blueOffset + i];
    const max = red > green ? (red > blue ? red : blue) : green > blue ? green : blue;
    const min = red < green ? (red < blue ? red : blue) : green < blue ? green : blue;
    const delta = max - min;
    let hue = 0;
    let saturation = 0;
    if (delta !== 0) {
      saturation = delta / max;
      let sector: number;
      if (blue === max) sector = 4 + (red - green) / delta;
      else if (green === max) sector = 2 + (blue - red) / delta;
      else sector = (green - blue) / delta;
      hue = sector / 6;
      // Python's modulo 1 of a negative hue (red is max, blue above green) wraps into [0, 1).
      if (hue < 0) hue += 1;
    }
    hsv[i] = hue;
    hsv[greenOffset + i] = saturation;
    hsv[blueOffset + i] = max;
  }
}

/** Convert HSV planes back to a CHW RGB image (float32, not clipped: callers clip). */
export function hsvToRgb(hsv: Float64Array, rgb: Float32Array, pixels: number): void {
  checkPlanes(rgb.length, hsv.length, pixels);
  const greenOffset = pixels;
  const blueOffset = 2 * pixels;
  for (let i = 0; i < pixels; i++) {
    const scaledHue = hsv[i] * 6;
    const sectorFloor = Math.floor(scaledHue);
    const fraction = scaledHue - sectorFloor;
    const saturation = hsv[greenOffset + i];
    const value = hsv[blueOffset + i];
    const p = value * (1 - saturation);
    const q = value * (1 - fraction * saturation);
    const t = value * (1 - (1 - fraction) * saturation);
    // skimage casts the sector to uint8 and takes it modulo 6, so hue 1 is sector 0 again.
    let red: number;
    let green: number;
    let blue: number;
    switch (((sectorFloor % 6) + 6) % 6) {
      case 0:
        red = value;
        green = t;
        blue = p;
        break;
      case 1:
        red = q;
        green = value;
        blue = p;
        break;
      case 2:
        red = p;
        green = value;
        blue = t;
        break;
      case 3:
        red = p;
        green = q;
        blue = value;
        break;
      case 4:
        red = t;
        green = p;
        blue = value;
        break;
      default:
        red = value;
        green = p;
        blue = q;
    }
    rgb[i] = red;
    rgb[greenOffset + i] = green;
    rgb[blueOffset + i] = blue;
  }
}

function checkPlanes(rgbLength: number, hsvLength: number, pixels: number): void {
  if (rgbLength < 3 * pixels || hsvLength < 3 * pixels) {
    throw new RangeError(
      `HSV conversion of ${pixels} pixels needs 3 planes (${3 * pixels} values) on both sides, ` +
        `got ${rgbLength} RGB and ${hsvLength} HSV values`,
    );
  }
}

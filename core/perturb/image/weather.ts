import type { PerturbationModule } from '../module';
import { fog } from './fog';
import { frost } from './frost';
import { snow } from './snow';
import { spatter } from './spatter';

/**
 * ImageNet-C's weather corruptions (Hendrycks & Dietterich 2019): snow, frost and fog of the 15
 * benchmark corruptions (brightness, the fourth, is its own module) and spatter of the 4 extras.
 * Frost uses a procedural texture, not the reference's photographs: see frost.ts.
 */
export const WEATHER_MODULES: readonly PerturbationModule[] = [snow, frost, fog, spatter];

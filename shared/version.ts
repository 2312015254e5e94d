/** The version both programs print (`twilld --version`, `twill` without CNI_COMMAND). */
import { GIT_COMMIT, PACKAGE_VERSION } from './build-info.js';

/** "0.1.0", or "0.1.0 (commit c032d5b)" when the build knew its git commit. */
export const VERSION: string = GIT_COMMIT ? `${PACKAGE_VERSION} (commit ${GIT_COMMIT})` : PACKAGE_VERSION;

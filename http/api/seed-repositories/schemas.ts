import { z } from 'zod';

export const SeedRepository = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  name: z.string().min(1).max(200),
  description: z.string().max(2000),
  category: z.string().min(1).max(50),
  /** Pre-selected in the web app's "add seed repositories" list. */
  checked: z.boolean(),
});

export const SeedCatalogue = z.strictObject({ repositories: z.array(SeedRepository) });

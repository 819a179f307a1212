// Whether the page has been hydrated: what only works with JavaScript (charts, copy buttons) renders after it.
import { useEffect, useState } from "react";

let hydrated = false;

export function useHydrated(): boolean {
  const [isHydrated, setHydrated] = useState(hydrated);
  useEffect(() => {
    hydrated = true;
    setHydrated(true);
  }, []);
  return isHydrated;
}

// Form pieces wired to conform: a <Form> shell that shows form-level errors and moves focus to the first error,
// and fields whose label, hint, errors, aria-invalid and aria-describedby come from one place.
import {
  type FieldMetadata,
  type FormMetadata,
  getFormProps,
  getInputProps,
  getSelectProps,
  getTextareaProps,
} from "@conform-to/react";
import { Form, useNavigation } from "@remix-run/react";
import { type FormEvent, type ReactNode, createContext, useContext, useEffect, useRef } from "react";

const FirstError = createContext<string | undefined>(undefined);
/** The intent of the enclosing FormShell, so that only its own buttons show they are working. */
const FormIntent = createContext<string | undefined>(undefined);

interface ShellProps {
  form: FormMetadata<Record<string, unknown>, string[]>;
  method?: "post" | "get";
  action?: string;
  children: ReactNode;
  className?: string;
  /** Marks which of several forms on a page this is (a hidden `intent` field). */
  intent?: string;
}

/**
 * A progressively enhanced form. Without JavaScript the server's answer re-renders the page and the first field in
 * error gets `autoFocus`; with it, focus moves to the first invalid field (or the form's errors) after a submit.
 */
export function FormShell({ form, method = "post", action, children, className, intent }: ShellProps) {
  const ref = useRef<HTMLFormElement>(null);
  const navigation = useNavigation();
  const errors = form.allErrors;
  const first = Object.keys(errors).find((name) => name !== form.name && errors[name]?.length);
  const formErrors = form.errors ?? [];
  // After the server answered a submit of this form (not while someone is typing): focus the first error.
  const submitted = useRef(false);
  useEffect(() => {
    if (navigation.state === "submitting" && navigation.formData && (!intent || navigation.formData.get("intent") === intent)) {
      submitted.current = true;
      return;
    }
    if (navigation.state !== "idle" || !submitted.current) return;
    submitted.current = false;
    if (!ref.current || Object.keys(errors).length === 0) return;
    const target = ref.current.querySelector<HTMLElement>('[aria-invalid="true"]') ?? ref.current.querySelector<HTMLElement>("[data-form-errors]");
    target?.focus();
  }, [navigation.state, navigation.formData, errors, intent]);
  // While this form's own submission is in flight, submitting it again sends nothing: a double click (or Enter pressed
  // twice) would have the server do it twice and the page show the second answer ("slug taken" for the tenant just
  // made). In flight from the submit until navigation is idle again (the page it leads to has loaded: a submit
  // during that last part would cancel it). Other forms, even of the same intent (each domain's Verify), are not held
  // back. Without JavaScript the browser sends what it sends.
  const sending = useRef<"no" | "sent" | "moving">("no");
  useEffect(() => {
    if (navigation.state !== "idle") {
      if (sending.current === "sent") sending.current = "moving";
    } else if (sending.current === "moving") sending.current = "no";
  }, [navigation.state]);
  const { onSubmit: validate, ...formProps } = getFormProps(form);
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    if (sending.current !== "no") return event.preventDefault();
    validate(event);
    // (Conform prevents a submit that fails its checks in the browser: nothing is sent then.)
    if (!event.defaultPrevented) sending.current = "sent";
  };
  return (
    <Form
      method={method}
      action={action}
      className={className}
      ref={ref}
      {...formProps}
      onSubmit={onSubmit}
    >
      {intent ? <input type="hidden" name="intent" value={intent} /> : null}
      {formErrors.length ? (
        // (Without JavaScript, focused as the page loads when no field is in error: a form far down the page is
        // scrolled to.)
        <div id={form.errorId} className="form-errors" role="alert" tabIndex={-1} data-form-errors autoFocus={first === undefined}>
          {formErrors.map((e) => (
            <p key={e}>{e}</p>
          ))}
        </div>
      ) : null}
      <FormIntent.Provider value={intent}>
        <FirstError.Provider value={first}>{children}</FirstError.Provider>
      </FormIntent.Provider>
    </Form>
  );
}

export function ErrorList({ id, errors }: { id: string; errors?: string[] }) {
  if (!errors?.length) return null;
  return (
    <ul id={id} className="field-errors">
      {errors.map((e) => (
        <li key={e}>{e}</li>
      ))}
    </ul>
  );
}

type Meta = FieldMetadata<string | number | boolean | null | undefined, Record<string, unknown>, string[]>;

interface FieldProps {
  meta: Meta;
  label: string;
  hint?: ReactNode;
  type?: "text" | "number" | "url" | "email" | "password" | "search" | "datetime-local" | "date";
  placeholder?: string;
  autoComplete?: string;
  inputMode?: "numeric" | "text";
  /** Extra attributes for the input (e.g. aria-controls, onChange). */
  inputProps?: Record<string, unknown>;
}

/** A labelled control with its hint and its errors, as every field of every form shows them (a checkbox first). */
function FieldFrame({ meta, label, hint, checkbox, children }: { meta: Meta; label: string; hint?: ReactNode; checkbox?: boolean; children: ReactNode }) {
  const labelled = <label htmlFor={meta.id}>{label}</label>;
  return (
    <div className={checkbox ? "field checkbox" : "field"}>
      {checkbox ? null : labelled}
      {children}
      {checkbox ? labelled : null}
      {hint ? (
        <p id={meta.descriptionId} className="hint">
          {hint}
        </p>
      ) : null}
      <ErrorList id={meta.errorId} errors={meta.errors} />
    </div>
  );
}

export function Field({ meta, label, hint, type = "text", placeholder, autoComplete = "off", inputMode, inputProps }: FieldProps) {
  const first = useContext(FirstError);
  return (
    <FieldFrame meta={meta} label={label} hint={hint}>
      <input
        {...getInputProps(meta, { type, ariaDescribedBy: hint ? meta.descriptionId : undefined })}
        key={meta.key}
        placeholder={placeholder}
        autoComplete={autoComplete}
        inputMode={inputMode}
        autoFocus={first === meta.name}
        {...inputProps}
      />
    </FieldFrame>
  );
}

export function TextareaField({ meta, label, hint }: { meta: Meta; label: string; hint?: ReactNode }) {
  const first = useContext(FirstError);
  return (
    <FieldFrame meta={meta} label={label} hint={hint}>
      <textarea
        {...getTextareaProps(meta, { ariaDescribedBy: hint ? meta.descriptionId : undefined })}
        key={meta.key}
        rows={2}
        autoFocus={first === meta.name}
      />
    </FieldFrame>
  );
}

export function SelectField({
  meta,
  label,
  options,
  hint,
  selectProps,
}: {
  meta: Meta;
  label: string;
  options: Array<{ value: string; label: string }>;
  hint?: ReactNode;
  selectProps?: Record<string, unknown>;
}) {
  const first = useContext(FirstError);
  return (
    <FieldFrame meta={meta} label={label} hint={hint}>
      <select
        {...getSelectProps(meta, { ariaDescribedBy: hint ? meta.descriptionId : undefined })}
        key={meta.key}
        autoFocus={first === meta.name}
        {...selectProps}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </FieldFrame>
  );
}

export function CheckboxField({ meta, label, hint }: { meta: Meta; label: string; hint?: ReactNode }) {
  const first = useContext(FirstError);
  return (
    <FieldFrame meta={meta} label={label} hint={hint} checkbox>
      <input
        {...getInputProps(meta, { type: "checkbox", value: "on", ariaDescribedBy: hint ? meta.descriptionId : undefined })}
        key={meta.key}
        autoFocus={first === meta.name}
      />
    </FieldFrame>
  );
}

/** A submit button that says it is working while its form is being submitted. */
export function SubmitButton({ children, name, value, className, pendingText }: { children: ReactNode; name?: string; value?: string; className?: string; pendingText?: string }) {
  const navigation = useNavigation();
  const intent = useContext(FormIntent);
  // Working from the press until the page it leads to has loaded (the form's data stays on the navigation).
  const data = navigation.state !== "idle" ? navigation.formData : undefined;
  const pending =
    data !== undefined &&
    (intent === undefined || data.get("intent") === intent) &&
    (name === undefined || data.get(name) === value);
  return (
    <button type="submit" name={name} value={value} className={className} aria-disabled={pending || undefined}>
      {pending ? (pendingText ?? "Working…") : children}
    </button>
  );
}

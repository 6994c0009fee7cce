{{/* Names ------------------------------------------------------------------------------ */}}

{{- define "weir.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-weir, or the release name when it already contains the chart name. Components
     append a suffix of up to 9 characters, so this stays within 52. */}}
{{- define "weir.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "weir.notebook.fullname" -}}{{ include "weir.fullname" . }}-notebook{{- end -}}
{{- define "weir.jobs.fullname" -}}{{ include "weir.fullname" . }}-jobs{{- end -}}
{{- define "weir.argo.fullname" -}}{{ include "weir.fullname" . }}-workflow{{- end -}}

{{- define "weir.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels --------------------------------------------------------------------------------- */}}

{{- define "weir.selectorLabels" -}}
app.kubernetes.io/name: {{ include "weir.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "weir.labels" -}}
helm.sh/chart: {{ include "weir.chart" . }}
{{ include "weir.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: weir
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* (dict "ctx" $ "component" "notebook") */}}
{{- define "weir.componentSelectorLabels" -}}
{{ include "weir.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "weir.componentLabels" -}}
{{ include "weir.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Images --------------------------------------------------------------------------------- */}}

{{/* An image the user supplies entirely (gitSync.image): repository:tag[@digest], neither
     image.registry nor image.tag applies. */}}
{{- define "weir.ownImage" -}}
{{- $ref := printf "%s:%s" .repository (toString .tag) -}}
{{- if .digest -}}{{- $ref = printf "%s@%s" $ref .digest -}}{{- end -}}
{{- $ref -}}
{{- end -}}

{{/* (dict "ctx" $ "image" .Values.image.weir): registry/repository:tag[@digest] */}}
{{- define "weir.image" -}}
{{- $g := .ctx.Values.image -}}
{{- $tag := $g.tag | default .ctx.Chart.AppVersion | toString -}}
{{- $ref := printf "%s:%s" .image.repository $tag -}}
{{- if $g.registry -}}{{- $ref = printf "%s/%s" (trimSuffix "/" $g.registry) $ref -}}{{- end -}}
{{- if .image.digest -}}{{- $ref = printf "%s@%s" $ref .image.digest -}}{{- end -}}
{{- $ref -}}
{{- end -}}

{{/* checkov skips (with their reason) for a workload whose images are pinned by tag only:
     (dict "ctx" $ "digests" (list .Values.image.weir.digest ...)) -> annotation lines, or
     nothing when every image has a digest. A reason must not contain "=". */}}
{{- define "weir.checkovImageSkips" -}}
{{- if has "" .digests -}}
checkov.io/skip1: "CKV_K8S_43=Images are pinned to a release tag; set the image digests (image.*.digest) to pin them by digest too"
{{- if ne .ctx.Values.image.pullPolicy "Always" }}
checkov.io/skip2: "CKV_K8S_15=IfNotPresent suits an immutable release tag (image.pullPolicy sets it); an image pinned by digest passes this check"
{{- end }}
{{- end }}
{{- end -}}

{{- define "weir.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets -}}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Service accounts -------------------------------------------------------------------------- */}}

{{- define "weir.notebook.serviceAccountName" -}}
{{- .Values.notebook.serviceAccount.name | default (include "weir.notebook.fullname" .) -}}
{{- end -}}

{{- define "weir.jobs.serviceAccountName" -}}
{{- .Values.jobService.serviceAccount.name | default (include "weir.jobs.fullname" .) -}}
{{- end -}}

{{- define "weir.argo.serviceAccountName" -}}
{{- .Values.argo.serviceAccount.name | default (include "weir.argo.fullname" .) -}}
{{- end -}}

{{/* Secrets ----------------------------------------------------------------------------------- */}}

{{- define "weir.notebook.tokenSecretName" -}}
{{- .Values.notebook.token.existingSecret | default (printf "%s-token" (include "weir.notebook.fullname" .)) -}}
{{- end -}}

{{- define "weir.notebook.tokenSecretKey" -}}
{{- if .Values.notebook.token.existingSecret }}{{ .Values.notebook.token.existingSecretKey }}{{ else }}token{{ end -}}
{{- end -}}

{{- define "weir.jobs.apiTokenSecretName" -}}
{{- .Values.jobService.apiToken.existingSecret | default (printf "%s-api-token" (include "weir.jobs.fullname" .)) -}}
{{- end -}}

{{- define "weir.jobs.apiTokenSecretKey" -}}
{{- if .Values.jobService.apiToken.existingSecret }}{{ .Values.jobService.apiToken.existingSecretKey }}{{ else }}token{{ end -}}
{{- end -}}

{{- define "weir.jobs.storeSecretName" -}}
{{- .Values.jobService.store.postgres.existingSecret | default (printf "%s-store" (include "weir.jobs.fullname" .)) -}}
{{- end -}}

{{- define "weir.jobs.storeSecretKey" -}}
{{- if .Values.jobService.store.postgres.existingSecret }}{{ .Values.jobService.store.postgres.existingSecretKey }}{{ else }}url{{ end -}}
{{- end -}}

{{/* A generated secret value that survives upgrades: the value already in the cluster (lookup),
     else a new random one. (dict "ctx" $ "name" NAME "key" KEY) -> base64 */}}
{{- define "weir.generatedSecretValue" -}}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .name -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key -}}
{{- else -}}
{{- randAlphaNum 48 | b64enc -}}
{{- end -}}
{{- end -}}

{{/* Storage class of a claim: "" -> the cluster's default (omitted), "-" -> none. */}}
{{- define "weir.storageClass" -}}
{{- if eq . "-" -}}
storageClassName: ""
{{- else if . -}}
storageClassName: {{ . | quote }}
{{- end -}}
{{- end -}}

{{/* The weir image's writable paths under a read-only root: volumes and their mounts. */}}
{{- define "weir.scratchVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .tmpSizeLimit }}
- name: home
  emptyDir:
    sizeLimit: 1Gi
{{- end -}}

{{- define "weir.scratchMounts" -}}
- name: tmp
  mountPath: /tmp
- name: home
  mountPath: /home/weir
{{- end -}}

{{- define "weir.scratchEnv" -}}
- name: TMPDIR
  value: /tmp
- name: HOME
  value: /home/weir
{{- end -}}

{{/* git-sync containers: (dict "ctx" $ "notebookDir" DIR) */}}
{{- define "weir.gitSyncEnv" -}}
{{- $git := .ctx.Values.notebook.gitSync -}}
- name: GIT_SYNC_REPOSITORY
  value: {{ $git.repository | quote }}
- name: GIT_SYNC_REF
  value: {{ $git.ref | quote }}
- name: GIT_SYNC_DEST
  value: {{ printf "%s/%s" .notebookDir $git.directory | quote }}
- name: GIT_SYNC_DEPTH
  value: {{ $git.depth | quote }}
- name: GIT_SYNC_PERIOD
  value: {{ $git.periodSeconds | quote }}
{{- if $git.existingSecret }}
- name: GIT_SYNC_CREDENTIALS
  value: /etc/weir/git-credentials/git-credentials
{{- end }}
# A transfer slower than 1 kB/s for a minute is abandoned (and retried next period).
- name: GIT_HTTP_LOW_SPEED_LIMIT
  value: "1000"
- name: GIT_HTTP_LOW_SPEED_TIME
  value: "60"
- name: HOME
  value: /tmp
- name: TMPDIR
  value: /tmp
{{- end -}}

{{- define "weir.gitSyncMounts" -}}
- name: tmp
  mountPath: /tmp
- name: notebooks
  mountPath: {{ .notebookDir }}
- name: git-sync
  mountPath: /etc/weir/git
  readOnly: true
{{- if .ctx.Values.notebook.gitSync.existingSecret }}
- name: git-credentials
  mountPath: /etc/weir/git-credentials
  readOnly: true
{{- end }}
{{- end -}}

// microscope_torch: a thin C ABI over libtorch for the C# Engine.
//
// Rules (see docs/engine.md):
//  - one function per tensor operation, no logic that belongs in C#;
//  - no C++ exception crosses the boundary: every entry point returns 0 on success
//    or 1 on failure, and ms_last_error() gives libtorch's message (thread-local);
//  - a tensor handle is a heap-allocated torch::Tensor owned by the caller and
//    released with ms_free; g_live counts them so tests can prove nothing leaks.
#include <torch/torch.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#define MS_API extern "C" __attribute__((visibility("default")))

using torch::Tensor;
typedef Tensor* T;

namespace {
thread_local std::string g_error;
std::atomic<int64_t> g_live{0};
std::atomic<bool> g_profile{false};
// Convolutions in bfloat16 (opt-in, off by default): on CPUs with AVX-512 BF16, oneDNN runs
// them 2-3x faster than float32; inputs and outputs stay float32 around the call, so every
// other op, the image and the optimiser keep full precision (docs/performance.md).
static std::atomic<bool> g_conv_bf16{false};

std::atomic<int64_t> g_profile_ns{0};
std::atomic<int64_t> g_profile_calls{0};

// Times the body of an entry point when profiling is on: the bench compares this
// native time with the managed wall time to measure the binding's overhead.
struct ProfileScope {
  bool on = g_profile.load(std::memory_order_relaxed);
  std::chrono::steady_clock::time_point start;
  ProfileScope() { if (on) start = std::chrono::steady_clock::now(); }
  ~ProfileScope() {
    if (!on) return;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
    g_profile_ns.fetch_add(ns, std::memory_order_relaxed);
    g_profile_calls.fetch_add(1, std::memory_order_relaxed);
  }
};

T wrap(Tensor t) {
  g_live.fetch_add(1, std::memory_order_relaxed);
  return new Tensor(std::move(t));
}

torch::ScalarType dtype_of(int code) {
  switch (code) {
    case 0: return torch::kFloat32;
    case 1: return torch::kFloat64;
    case 2: return torch::kInt64;
    case 3: return torch::kUInt8;
    case 4: return torch::kInt32;
    case 5: return torch::kBool;
    default: throw std::invalid_argument("unknown dtype code " + std::to_string(code));
  }
}

int code_of(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return 0;
    case torch::kFloat64: return 1;
    case torch::kInt64: return 2;
    case torch::kUInt8: return 3;
    case torch::kInt32: return 4;
    case torch::kBool: return 5;
    default: return -1;
  }
}

torch::Device device_of(int type, int index) {
  if (type == 0) return torch::Device(torch::kCPU);
  if (type == 1) return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index < 0 ? 0 : index));
  throw std::invalid_argument("unknown device type " + std::to_string(type));
}

std::vector<int64_t> vec(const int64_t* p, int n) { return std::vector<int64_t>(p, p + n); }
}  // namespace

#define BEGIN try { ProfileScope _profile;
#define END                                                   \
  return 0;                                                   \
  } catch (const c10::Error& e) {                             \
    g_error = e.what_without_backtrace();                     \
    return 1;                                                 \
  } catch (const std::exception& e) {                         \
    g_error = e.what();                                       \
    return 1;                                                 \
  } catch (...) {                                             \
    g_error = "unknown native error";                         \
    return 1;                                                 \
  }

// ---- process, errors, accounting ------------------------------------------------

MS_API const char* ms_last_error() { return g_error.c_str(); }
MS_API int64_t ms_live_tensors() { return g_live.load(); }

// Once per process: libtorch defaults to one thread on these machines, and glibc's
// default thresholds return big activation buffers to the OS on every step
// (page-fault churn measured at ~2x on step time).
MS_API int ms_init(int threads) {
  BEGIN
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  if (threads > 0) torch::set_num_threads(threads);
  // CUDA: libtorch lets cuDNN convolutions use TF32 by default on Ampere and later, which
  // is not fp32; renders stay fp32 unless MICROSCOPE_TF32=1 asks for TF32 (the GPU check
  // times both). Only flags: nothing happens on a CPU build.
  const char* tf32 = std::getenv("MICROSCOPE_TF32");
  const bool allow_tf32 = tf32 != nullptr && std::strcmp(tf32, "1") == 0;
  at::globalContext().setAllowTF32CuDNN(allow_tf32);
  at::globalContext().setAllowTF32CuBLAS(allow_tf32);
  END
}
MS_API int ms_num_threads() { return torch::get_num_threads(); }
MS_API int ms_cuda_device_count() { try { return torch::cuda::is_available() ? (int)torch::cuda::device_count() : 0; } catch (...) { return 0; } }
MS_API void ms_profile_enable(int on) { g_profile = on != 0; }
MS_API void ms_profile_reset() { g_profile_ns = 0; g_profile_calls = 0; }
MS_API void ms_profile_read(int64_t* ns, int64_t* calls) { *ns = g_profile_ns.load(); *calls = g_profile_calls.load(); }
MS_API int ms_synchronize(int device_type, int device_index) {
  BEGIN
  if (device_type == 1) {
    // Wait for queued kernels so timings mean something; a no-op on CPU.
    auto t = torch::zeros({1}, torch::TensorOptions().device(device_of(device_type, device_index)));
    (void)t.cpu();
  }
  END
}

// ---- handles and data -----------------------------------------------------------

MS_API void ms_free(T t) {
  if (!t) return;
  delete t;
  g_live.fetch_sub(1, std::memory_order_relaxed);
}

MS_API int ms_from_data(const void* data, int dtype, const int64_t* shape, int ndim, int dev_type, int dev_index, T* out) {
  BEGIN
  auto cpu = torch::from_blob(const_cast<void*>(data), vec(shape, ndim), dtype_of(dtype)).clone();
  *out = wrap(cpu.to(device_of(dev_type, dev_index)));
  END
}
MS_API int ms_zeros(const int64_t* shape, int ndim, int dtype, int dev_type, int dev_index, T* out) {
  BEGIN *out = wrap(torch::zeros(vec(shape, ndim), torch::TensorOptions().dtype(dtype_of(dtype)).device(device_of(dev_type, dev_index)))); END
}
MS_API int ms_full(const int64_t* shape, int ndim, double value, int dtype, int dev_type, int dev_index, T* out) {
  BEGIN *out = wrap(torch::full(vec(shape, ndim), value, torch::TensorOptions().dtype(dtype_of(dtype)).device(device_of(dev_type, dev_index)))); END
}
MS_API int ms_ndim(T t, int* out) { BEGIN *out = (int)t->dim(); END }
MS_API int ms_shape(T t, int64_t* out) { BEGIN for (int64_t i = 0; i < t->dim(); i++) out[i] = t->size(i); END }
MS_API int ms_dtype(T t, int* out) { BEGIN *out = code_of(t->scalar_type()); END }
MS_API int ms_device(T t, int* type, int* index) {
  BEGIN
  *type = t->device().is_cuda() ? 1 : 0;
  *index = t->device().has_index() ? t->device().index() : 0;
  END
}
MS_API int ms_copy_to_host(T t, void* buffer, int64_t nbytes) {
  BEGIN
  auto c = t->detach().to(torch::kCPU).contiguous();
  if ((int64_t)c.nbytes() != nbytes)
    throw std::invalid_argument("copy_to_host: buffer has " + std::to_string(nbytes) + " bytes, tensor has " + std::to_string(c.nbytes()));
  std::memcpy(buffer, c.data_ptr(), nbytes);
  END
}
MS_API int ms_to(T t, int dtype, int dev_type, int dev_index, T* out) {
  BEGIN *out = wrap(t->to(device_of(dev_type, dev_index), dtype_of(dtype))); END
}
MS_API int ms_item(T t, double* out) { BEGIN *out = t->item<double>(); END }
MS_API int ms_copy_(T dst, T src) { BEGIN torch::NoGradGuard g; dst->copy_(*src); END }

// ---- autograd -------------------------------------------------------------------

MS_API int ms_set_requires_grad(T t, int on) { BEGIN t->set_requires_grad(on != 0); END }
MS_API int ms_requires_grad(T t, int* out) { BEGIN *out = t->requires_grad() ? 1 : 0; END }
MS_API int ms_backward(T t) { BEGIN t->backward(); END }
MS_API int ms_grad(T t, T* out) {
  BEGIN
  auto g = t->grad();
  *out = g.defined() ? wrap(g) : nullptr;
  END
}
MS_API int ms_zero_grad(T t) { BEGIN if (t->grad().defined()) t->mutable_grad().zero_(); END }
MS_API int ms_detach(T t, T* out) { BEGIN *out = wrap(t->detach()); END }
MS_API int ms_no_grad_begin(void** guard) { BEGIN *guard = new torch::NoGradGuard(); END }
MS_API void ms_no_grad_end(void* guard) { delete static_cast<torch::NoGradGuard*>(guard); }

// ---- elementwise ----------------------------------------------------------------

#define UNARY(name, expr) MS_API int ms_##name(T a, T* out) { BEGIN *out = wrap(expr); END }
UNARY(neg, -(*a))
UNARY(relu, torch::relu(*a))
UNARY(sigmoid, torch::sigmoid(*a))
UNARY(tanh, torch::tanh(*a))
UNARY(exp, torch::exp(*a))
UNARY(log, torch::log(*a))
UNARY(sqrt, torch::sqrt(*a))
UNARY(abs, torch::abs(*a))
UNARY(square, (*a) * (*a))
UNARY(contiguous, a->contiguous())
UNARY(clone, a->clone())

#define BINARY(name, expr) MS_API int ms_##name(T a, T b, T* out) { BEGIN *out = wrap(expr); END }
BINARY(add, *a + *b)
BINARY(sub, *a - *b)
BINARY(mul, *a * *b)
BINARY(div, *a / *b)
BINARY(matmul, torch::matmul(*a, *b))
BINARY(maximum, torch::maximum(*a, *b))
BINARY(eq, torch::eq(*a, *b))

MS_API int ms_add_scalar(T a, double s, T* out) { BEGIN *out = wrap(*a + s); END }
MS_API int ms_mul_scalar(T a, double s, T* out) { BEGIN *out = wrap(*a * s); END }
MS_API int ms_pow_scalar(T a, double s, T* out) { BEGIN *out = wrap(torch::pow(*a, s)); END }
MS_API int ms_clamp(T a, double lo, double hi, T* out) { BEGIN *out = wrap(torch::clamp(*a, lo, hi)); END }
// Activations ONNX models use (the importer, src/Engine/Models/Onnx).
MS_API int ms_leaky_relu(T a, double slope, T* out) { BEGIN *out = wrap(torch::leaky_relu(*a, slope)); END }
MS_API int ms_elu(T a, double alpha, T* out) { BEGIN *out = wrap(torch::elu(*a, alpha)); END }
MS_API int ms_prelu(T a, T weight, T* out) { BEGIN *out = wrap(torch::prelu(*a, *weight)); END }
MS_API int ms_hardswish(T a, T* out) { BEGIN *out = wrap(torch::hardswish(*a)); END }
MS_API int ms_minimum(T a, T b, T* out) { BEGIN *out = wrap(torch::minimum(*a, *b)); END }

// ---- reductions -----------------------------------------------------------------

MS_API int ms_sum(T a, T* out) { BEGIN *out = wrap(a->sum()); END }
MS_API int ms_mean(T a, T* out) { BEGIN *out = wrap(a->mean()); END }
MS_API int ms_sum_dims(T a, const int64_t* dims, int n, int keepdim, T* out) { BEGIN *out = wrap(a->sum(vec(dims, n), keepdim != 0)); END }
MS_API int ms_mean_dims(T a, const int64_t* dims, int n, int keepdim, T* out) { BEGIN *out = wrap(a->mean(vec(dims, n), keepdim != 0)); END }
MS_API int ms_amax(T a, const int64_t* dims, int n, int keepdim, T* out) { BEGIN *out = wrap(torch::amax(*a, vec(dims, n), keepdim != 0)); END }
MS_API int ms_argmax(T a, int64_t dim, int keepdim, T* out) { BEGIN *out = wrap(torch::argmax(*a, dim, keepdim != 0)); END }

// ---- shape and indexing ---------------------------------------------------------

MS_API int ms_reshape(T a, const int64_t* shape, int n, T* out) { BEGIN *out = wrap(a->reshape(vec(shape, n))); END }
MS_API int ms_permute(T a, const int64_t* dims, int n, T* out) { BEGIN *out = wrap(a->permute(vec(dims, n))); END }
MS_API int ms_transpose(T a, int64_t d0, int64_t d1, T* out) { BEGIN *out = wrap(a->transpose(d0, d1)); END }
MS_API int ms_narrow(T a, int64_t dim, int64_t start, int64_t length, T* out) { BEGIN *out = wrap(a->narrow(dim, start, length)); END }
MS_API int ms_slice(T a, int64_t dim, int64_t start, int64_t end, int64_t step, T* out) { BEGIN *out = wrap(a->slice(dim, start, end, step)); END }
MS_API int ms_select(T a, int64_t dim, int64_t index, T* out) { BEGIN *out = wrap(a->select(dim, index)); END }
MS_API int ms_index_select(T a, int64_t dim, T index, T* out) { BEGIN *out = wrap(a->index_select(dim, *index)); END }
MS_API int ms_gather(T a, int64_t dim, T index, T* out) { BEGIN *out = wrap(a->gather(dim, *index)); END }
MS_API int ms_unsqueeze(T a, int64_t dim, T* out) { BEGIN *out = wrap(a->unsqueeze(dim)); END }
MS_API int ms_flatten(T a, int64_t start, int64_t end, T* out) { BEGIN *out = wrap(a->flatten(start, end)); END }
MS_API int ms_cat(T* tensors, int n, int64_t dim, T* out) {
  BEGIN
  std::vector<Tensor> ts;
  for (int i = 0; i < n; i++) ts.push_back(*tensors[i]);
  *out = wrap(torch::cat(ts, dim));
  END
}

// ---- neural-network functions -----------------------------------------------------

MS_API void ms_set_conv_bf16(int on) { g_conv_bf16 = on != 0; }
MS_API int ms_get_conv_bf16() { return g_conv_bf16 ? 1 : 0; }

namespace {
// A convolution in the layout it is given: float32, or on bfloat16 kernels with float32 around it.
Tensor convolve_as_given(const Tensor& input, const Tensor& w, const Tensor& bias, at::IntArrayRef stride, at::IntArrayRef padding,
                         at::IntArrayRef dilation, int64_t groups, bool bf16) {
  if (!bf16) return torch::conv2d(input, w, bias, stride, padding, dilation, groups);
  const auto bf = torch::kBFloat16;
  return torch::conv2d(input.to(bf), w.to(bf), bias.defined() ? bias.to(bf) : Tensor(), stride, padding, dilation, groups)
      .to(torch::kFloat32);
}

// libtorch 1.13's own choice of kernel for a CPU convolution (ConvParams::use_mkldnn): oneDNN,
// except for a 1x1 stride-1 convolution on one thread (its own kernel below batch 16, so at
// every batch a render uses), and for a single small image (at most 20480 input values, kernel
// at most 3 wide, no groups), whose sums then differ from the same image's in a batch of 8.
bool native_below_batch_16(const Tensor& w, at::IntArrayRef stride, at::IntArrayRef dilation) {
  return w.size(2) == 1 && w.size(3) == 1 && stride[0] == 1 && stride[1] == 1 && dilation[0] == 1 && dilation[1] == 1 &&
         torch::get_num_threads() == 1;
}
bool native_at_batch_1(const Tensor& x, const Tensor& w, int64_t groups) {
  return x.size(0) == 1 && groups == 1 && !(w.size(2) > 3 && w.size(3) > 3) && x.size(1) * x.size(2) * x.size(3) <= 20480;
}

// A convolution as the render runs it. On CPU a float32 image convolution runs channels-last:
// oneDNN is as fast in that layout and returns it, so ReLU, LRN (lrn::forward_channels_last),
// the max pools (ChannelsLastMaxPool) and channel concatenations after it stay channels-last
// with no layout copies between layers (docs/performance.md, round 4). A single image that libtorch would send to its own kernel
// runs as a pair with a zero image instead, so oneDNN computes it with the same bits as in any
// batch: a unit renders the same pixels alone or packed (channels-last oneDNN and libtorch's own
// kernel differ enough to change a 12-step render by 4/255; LensTests). CUDA, other dtypes and
// the one-thread 1x1 case keep the layout and kernel they are given.
Tensor convolve(const Tensor& x, const Tensor& w, const Tensor& bias, at::IntArrayRef stride, at::IntArrayRef padding,
                at::IntArrayRef dilation, int64_t groups, bool bf16) {
  const bool channels_last = x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && x.dim() == 4 && w.dim() == 4 &&
                             !native_below_batch_16(w, stride, dilation);
  const bool pair = channels_last && native_at_batch_1(x, w, groups);
  Tensor input = channels_last ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
  if (pair) input = torch::cat({input, torch::zeros_like(input)});
  auto y = convolve_as_given(input, w, bias, stride, padding, dilation, groups, bf16);
  return pair ? y.narrow(0, 0, 1) : y;
}

// dx (n, c, h, w) from the per-image maps (1, c*s*s, h', w') of a space-to-depth input gradient,
// in one pass (what pixel_shuffle, a crop and a cast to float32 did in three): padded-input
// position (py, px) is map channel ch*s*s + (py % s)*s + px % s at (py / s, px / s), and rows and
// columns past the maps (the kernel never reached them) are zero.
template <typename scalar_t>
void depth_to_space(const std::vector<Tensor>& maps, Tensor& dx, int64_t s, int64_t pad_y, int64_t pad_x) {
  const int64_t c = dx.size(1), h = dx.size(2), w = dx.size(3);
  std::vector<const scalar_t*> data;
  for (const auto& m : maps) data.push_back(m.data_ptr<scalar_t>());
  const int64_t sc = maps[0].stride(1), sy = maps[0].stride(2), sx = maps[0].stride(3), hp = maps[0].size(2), wp = maps[0].size(3);
  // Where each column reads in its map row (the same for every row), -1 past the maps.
  std::vector<int64_t> column(w);
  for (int64_t x = 0; x < w; x++) {
    const int64_t px = x + pad_x;
    column[x] = px / s < wp ? px % s * sc + px / s * sx : -1;
  }
  float* out = dx.data_ptr<float>();
  at::parallel_for(0, dx.size(0) * c * h, 16, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; task++) {
      const int64_t image = task / (c * h), ch = task / h % c, y = task % h, py = y + pad_y;
      float* row = out + task * w;
      if (py / s >= hp) { std::fill(row, row + w, 0.0f); continue; }
      const scalar_t* src = data[image] + (ch * s * s + py % s * s) * sc + py / s * sy;
      for (int64_t x = 0; x < w; x++) row[x] = column[x] >= 0 ? static_cast<float>(src[column[x]]) : 0.0f;
    }
  });
}

// The input gradient of a strided convolution on a few input channels (a model's first layer:
// InceptionV1's conv2d0, 7x7/2 on 3 channels). oneDNN's backward-data runs that shape at a
// fraction of its forward speed (52 of a conv2d2 step's 112 ms); written with space-to-depth,
// the same sum is a stride-1 convolution of the output gradient with 3*s*s output channels,
// which runs 2.5x faster (docs/performance.md). It is computed image by image, so an image's
// gradient never depends on the rest of its batch. The forward is the ordinary convolution,
// channels-last like every CPU float32 convolution here (see convolve).
struct StridedInputConv : public torch::autograd::Function<StridedInputConv> {
  // padding: top, left, bottom, right.
  static Tensor forward(torch::autograd::AutogradContext* ctx, Tensor x, Tensor w, Tensor bias, int64_t stride,
                        std::vector<int64_t> padding, bool bf16) {
    const auto channels_last = at::MemoryFormat::ChannelsLast;
    const auto dtype = bf16 ? torch::kBFloat16 : x.scalar_type();
    ctx->save_for_backward({w});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["height"] = x.size(2);
    ctx->saved_data["width"] = x.size(3);
    ctx->saved_data["padding"] = padding;
    ctx->saved_data["bf16"] = bf16;
    // The input padded (symmetrically or not), channels-last and in the convolution's precision,
    // in one copy: the image is small, and oneDNN then convolves without padding.
    auto input = torch::zeros({x.size(0), x.size(1), x.size(2) + padding[0] + padding[2], x.size(3) + padding[1] + padding[3]},
                              x.options().dtype(dtype).memory_format(channels_last));
    input.narrow(2, padding[0], x.size(2)).narrow(3, padding[1], x.size(3)).copy_(x);
    // No bias comes as an empty tensor (autograd functions take no undefined inputs). The input
    // is already in the convolution's precision, so convolve_as_given casts only the weights.
    return convolve_as_given(input, w.contiguous(channels_last), bias.numel() ? bias : Tensor(), {stride, stride}, {0, 0}, {1, 1}, 1,
                             bf16);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    const auto w = ctx->get_saved_variables()[0];
    const int64_t s = ctx->saved_data["stride"].toInt(), height = ctx->saved_data["height"].toInt(),
                  width = ctx->saved_data["width"].toInt();
    const auto padding = ctx->saved_data["padding"].toIntVector();
    const bool bf16 = ctx->saved_data["bf16"].toBool();
    const int64_t o = w.size(0), c = w.size(1), kh = (w.size(2) + s - 1) / s, kw = (w.size(3) + s - 1) / s;
    // Kernel zero-padded to a multiple of s, split into s*s phases (pixel_unshuffle's channel
    // order c*s*s + dy*s + dx), flipped and transposed: the stride-1 convolution that maps the
    // output gradient to the gradient of the unshuffled (padded) input.
    auto phases = torch::constant_pad_nd(w, {0, kw * s - w.size(3), 0, kh * s - w.size(2)})
                      .reshape({o, c, kh, s, kw, s})
                      .permute({0, 1, 3, 5, 2, 4})
                      .reshape({o, c * s * s, kh, kw})
                      .flip({2, 3})
                      .transpose(0, 1)
                      .contiguous();
    // Image by image, left in the convolution's precision: the maps go straight to dx below.
    const auto dtype = bf16 ? torch::kBFloat16 : grads[0].scalar_type();
    const auto g = grads[0].to(dtype);   // channels-last or not: oneDNN takes either
    const auto kernel = phases.to(dtype);
    std::vector<Tensor> maps;
    for (int64_t i = 0; i < g.size(0); i++) maps.push_back(torch::conv2d(g.narrow(0, i, 1), kernel, Tensor(), {1, 1}, {kh - 1, kw - 1}));
    auto dx = torch::empty({g.size(0), c, height, width}, grads[0].options().dtype(torch::kFloat32).memory_format(at::MemoryFormat::Contiguous));
    AT_DISPATCH_FLOATING_TYPES_AND(at::ScalarType::BFloat16, dtype, "strided_input_conv_backward",
                                   [&] { depth_to_space<scalar_t>(maps, dx, s, padding[0], padding[1]); });
    return {dx, Tensor(), Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

// Only where the input gradient is all that is wanted (a render: parameters never require
// gradients) and the shape is the slow one: CPU, float32, equal strides above 1, few input channels.
bool strided_input_conv(const Tensor& x, const Tensor& w, const Tensor& bias, const int64_t* stride, const int64_t* dilation,
                        int64_t groups) {
  return torch::GradMode::is_enabled() && x.requires_grad() && !w.requires_grad() && !(bias.defined() && bias.requires_grad()) &&
         x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && x.dim() == 4 && groups == 1 && stride[0] == stride[1] &&
         stride[0] > 1 && dilation[0] == 1 && dilation[1] == 1 && w.size(1) <= 4;
}
}  // namespace

// padding: top, left, bottom, right; where they differ (TensorFlow's "SAME") the input is padded
// first, except on the first layer's path, which pads in the copy it makes anyway.
MS_API int ms_conv2d(T x, T w, T b, const int64_t* stride, const int64_t* padding, const int64_t* dilation, int64_t groups, T* out) {
  BEGIN
  const Tensor bias = b ? *b : Tensor();
  const bool bf16 = g_conv_bf16 && x->scalar_type() == torch::kFloat32;
  const bool symmetric = padding[0] == padding[2] && padding[1] == padding[3];
  if (strided_input_conv(*x, *w, bias, stride, dilation, groups))
    *out = wrap(StridedInputConv::apply(*x, *w, bias.defined() ? bias : torch::empty({0}, w->options()), stride[0],
                                        vec(padding, 4), bf16));
  else if (symmetric)
    *out = wrap(convolve(*x, *w, bias, vec(stride, 2), vec(padding, 2), vec(dilation, 2), groups, bf16));
  else
    *out = wrap(convolve(torch::constant_pad_nd(*x, {padding[1], padding[3], padding[0], padding[2]}), *w, bias, vec(stride, 2),
                         {0, 0}, vec(dilation, 2), groups, bf16));
  END
}
// Transposed convolution (ONNX ConvTranspose, GAN generators); padding is symmetric here,
// asymmetric cases crop or pad the result on the C# side.
MS_API int ms_conv_transpose2d(T x, T w, T b, const int64_t* stride, const int64_t* padding, const int64_t* output_padding,
                               const int64_t* dilation, int64_t groups, T* out) {
  BEGIN
  *out = wrap(torch::conv_transpose2d(*x, *w, b ? *b : Tensor(), vec(stride, 2), vec(padding, 2), vec(output_padding, 2), groups,
                                      vec(dilation, 2)));
  END
}
MS_API int ms_linear(T x, T w, T b, T* out) { BEGIN *out = wrap(torch::linear(*x, *w, b ? *b : Tensor())); END }
// Max pooling of a channels-last float32 tensor (every CPU convolution's output is, see convolve):
// the C channels of a position are contiguous, so each window step is one vectorised max over
// them, and the backward routes each gradient to its window's argmax (kept as the position in
// the window) image by image. libtorch's channels-last kernel took 5 ms forward and 8 ms backward
// on conv2d0's 8x64x112x112 (int64 indices, a separate zero fill); oneDNN's needs layout copies
// both ways (docs/performance.md). Ties and NaN as libtorch: the first maximum in the window wins,
// a NaN wins.
namespace pool {
int64_t output_size(int64_t in, int64_t kernel, int64_t padding, int64_t stride, bool ceil) {
  int64_t out = (in + 2 * padding - kernel + (ceil ? stride - 1 : 0)) / stride + 1;
  if (ceil && (out - 1) * stride >= in + padding) out--;   // the last window must start inside
  return out;
}

// The windows (first, last) along one axis that hold input position `at`.
std::pair<int64_t, int64_t> windows_holding(int64_t at, int64_t kernel, int64_t stride, int64_t padding, int64_t outputs) {
  const int64_t low = at + padding - kernel + 1;
  const int64_t first = low <= 0 ? 0 : (low + stride - 1) / stride;
  return {first, std::min(outputs - 1, (at + padding) / stride)};
}

// Shapes of one pooling: input (n, h, w, c) and output (n, ho, wo, c) in memory order.
struct Shape { int64_t h, w, c, ho, wo, kernel[2], stride[2], padding[2]; };

// The channel loops are compute-bound: built for AVX2 and for baseline x86-64, picked at load
// time (1.8x on this machine's backward).
#define MS_CHANNEL_LOOPS __attribute__((target_clones("avx2", "default")))

// Output row `oy` of `image`: each window's maximum per channel and its position in the window.
MS_CHANNEL_LOOPS void forward_row(const float* __restrict in, float* __restrict out, int32_t* __restrict arg, int64_t image,
                                  int64_t oy, const Shape& s) {
  const int64_t y0 = oy * s.stride[0] - s.padding[0];
  const int64_t y_first = std::max<int64_t>(y0, 0), y_end = std::min(y0 + s.kernel[0], s.h);
  for (int64_t ox = 0; ox < s.wo; ox++) {
    const int64_t x0 = ox * s.stride[1] - s.padding[1];
    const int64_t x_first = std::max<int64_t>(x0, 0), x_end = std::min(x0 + s.kernel[1], s.w);
    float* __restrict best = out + ((image * s.ho + oy) * s.wo + ox) * s.c;
    int32_t* __restrict where = arg + ((image * s.ho + oy) * s.wo + ox) * s.c;
    const int32_t first = static_cast<int32_t>((y_first - y0) * s.kernel[1] + (x_first - x0));
    for (int64_t k = 0; k < s.c; k++) { best[k] = -std::numeric_limits<float>::infinity(); where[k] = first; }
    for (int64_t yy = y_first; yy < y_end; yy++)
      for (int64_t xx = x_first; xx < x_end; xx++) {
        const float* __restrict v = in + ((image * s.h + yy) * s.w + xx) * s.c;
        const int32_t position = static_cast<int32_t>((yy - y0) * s.kernel[1] + (xx - x0));
        for (int64_t k = 0; k < s.c; k++) {
          const bool wins = v[k] > best[k] || v[k] != v[k];
          best[k] = wins ? v[k] : best[k];
          where[k] = wins ? position : where[k];
        }
      }
  }
}

// Input row `yy` of `image`'s gradient: each position gathers from the (at most ceil(k/s)^2)
// windows holding it, in window order, so every gradient is written once (no zero fill, no
// races between rows) and sums in the same order as libtorch's scatter.
MS_CHANNEL_LOOPS void backward_row(const float* __restrict go, const int32_t* __restrict arg, float* __restrict gi, int64_t image,
                                   int64_t yy, const Shape& s) {
  const auto [oy_first, oy_last] = windows_holding(yy, s.kernel[0], s.stride[0], s.padding[0], s.ho);
  for (int64_t xx = 0; xx < s.w; xx++) {
    const auto [ox_first, ox_last] = windows_holding(xx, s.kernel[1], s.stride[1], s.padding[1], s.wo);
    float* __restrict d = gi + ((image * s.h + yy) * s.w + xx) * s.c;
    for (int64_t k = 0; k < s.c; k++) d[k] = 0.0f;
    for (int64_t oy = oy_first; oy <= oy_last; oy++)
      for (int64_t ox = ox_first; ox <= ox_last; ox++) {
        const int32_t position =
            static_cast<int32_t>((yy - (oy * s.stride[0] - s.padding[0])) * s.kernel[1] + xx - (ox * s.stride[1] - s.padding[1]));
        const int64_t at = ((image * s.ho + oy) * s.wo + ox) * s.c;
        for (int64_t k = 0; k < s.c; k++) d[k] += arg[at + k] == position ? go[at + k] : 0.0f;
      }
  }
}
}  // namespace pool

struct ChannelsLastMaxPool : public torch::autograd::Function<ChannelsLastMaxPool> {
  static Tensor forward(torch::autograd::AutogradContext* ctx, Tensor x, std::vector<int64_t> kernel, std::vector<int64_t> stride,
                        std::vector<int64_t> padding, bool ceil) {
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    const pool::Shape s{h, w, c, pool::output_size(h, kernel[0], padding[0], stride[0], ceil),
                        pool::output_size(w, kernel[1], padding[1], stride[1], ceil), {kernel[0], kernel[1]},
                        {stride[0], stride[1]}, {padding[0], padding[1]}};
    auto y = torch::empty({n, c, s.ho, s.wo}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
    auto argmax = torch::empty({n, s.ho, s.wo, c}, x.options().dtype(torch::kInt32));
    const float* in = x.data_ptr<float>();
    float* out = y.data_ptr<float>();
    int32_t* arg = argmax.data_ptr<int32_t>();
    at::parallel_for(0, n * s.ho, 1, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; row++) pool::forward_row(in, out, arg, row / s.ho, row % s.ho, s);
    });
    ctx->save_for_backward({argmax});
    ctx->saved_data["shape"] = std::vector<int64_t>{h, w, kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1]};
    return y;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    const auto argmax = ctx->get_saved_variables()[0];
    const auto v = ctx->saved_data["shape"].toIntVector();
    const int64_t n = argmax.size(0);
    const pool::Shape s{v[0], v[1], argmax.size(3), argmax.size(1), argmax.size(2), {v[2], v[3]}, {v[4], v[5]}, {v[6], v[7]}};
    auto g = grads[0].contiguous(at::MemoryFormat::ChannelsLast);
    auto dx = torch::empty({n, s.c, s.h, s.w}, g.options().memory_format(at::MemoryFormat::ChannelsLast));
    const float* go = g.data_ptr<float>();
    const int32_t* arg = argmax.data_ptr<int32_t>();
    float* gi = dx.data_ptr<float>();
    at::parallel_for(0, n * s.h, 1, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; row++) pool::backward_row(go, arg, gi, row / s.h, row % s.h, s);
    });
    return {dx, Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

// Other CPU float32 max pooling (NCHW input: an image, a pool straight after a non-convolution)
// runs on oneDNN: libtorch 1.13's own NCHW kernel is scalar (measured 5x slower forward and
// backward on InceptionV1's pools, docs/performance.md); autograd goes through the two layout
// conversions.
MS_API int ms_max_pool2d(T x, const int64_t* kernel, const int64_t* stride, const int64_t* padding, int ceil_mode, T* out) {
  BEGIN
  const auto& a = *x;
  const bool cpu_float = a.device().is_cpu() && a.scalar_type() == torch::kFloat32 && a.dim() == 4;
  if (cpu_float && !a.is_contiguous() && a.is_contiguous(at::MemoryFormat::ChannelsLast))
    *out = wrap(ChannelsLastMaxPool::apply(a, vec(kernel, 2), vec(stride, 2), vec(padding, 2), ceil_mode != 0));
  else if (cpu_float && at::hasMKLDNN() && at::globalContext().userEnabledMkldnn())
    *out = wrap(torch::max_pool2d(a.to_mkldnn(), vec(kernel, 2), vec(stride, 2), vec(padding, 2), {1, 1}, ceil_mode != 0).to_dense());
  else
    *out = wrap(torch::max_pool2d(a, vec(kernel, 2), vec(stride, 2), vec(padding, 2), {1, 1}, ceil_mode != 0));
  END
}
MS_API int ms_avg_pool2d(T x, const int64_t* kernel, const int64_t* stride, const int64_t* padding, int ceil_mode, int count_include_pad, T* out) {
  BEGIN *out = wrap(torch::avg_pool2d(*x, vec(kernel, 2), vec(stride, 2), vec(padding, 2), ceil_mode != 0, count_include_pad != 0)); END
}
MS_API int ms_adaptive_avg_pool2d(T x, int64_t h, int64_t w, T* out) { BEGIN *out = wrap(torch::adaptive_avg_pool2d(*x, {h, w})); END }
MS_API int ms_batch_norm(T x, T w, T b, T mean, T var, int training, double momentum, double eps, T* out) {
  BEGIN
  *out = wrap(torch::batch_norm(*x, w ? *w : Tensor(), b ? *b : Tensor(), mean ? *mean : Tensor(), var ? *var : Tensor(),
                                training != 0, momentum, eps, false));
  END
}
// Across-channel LRN as torch.nn.functional.local_response_norm defines it:
// y = x d^-beta, d = k + alpha/size * (sum of x^2 over channels [c - size/2, c + (size-1)/2]),
// with a hand-written backward: dx = g d^-beta - 2 alpha beta/size * x * (sum of g x d^(-beta-1)
// over the mirrored window [c - (size-1)/2, c + size/2]). Each is one fused pass over blocks of
// positions: a running sum per position (in double) walks the channels, so a window costs an
// add and a subtract whatever its size, and nothing but the result (and d, for the backward)
// goes back to memory. libtorch's avg_pool3d formulation, and the unfused tensor-op version
// of this, cost several times more on InceptionV1's LRNs (docs/performance.md).
namespace lrn {
constexpr int64_t kBlock = 256;  // positions per task: a task's rows of every channel stay in L2

// d^-beta: square roots for InceptionV1's 0.5 and AlexNet's 0.75 (they vectorise), pow otherwise.
enum Exponent { Half, ThreeQuarters, Other };
template <Exponent E, typename scalar_t>
inline scalar_t inverse_power(scalar_t d, scalar_t beta) {
  if constexpr (E == Half) return scalar_t(1) / std::sqrt(d);
  else if constexpr (E == ThreeQuarters) { const scalar_t r = std::sqrt(d); return scalar_t(1) / (r * std::sqrt(r)); }
  else return std::pow(d, -beta);
}

// Calls body(image, first position, positions) for every block of every image, in parallel.
template <typename Body>
void for_each_block(int64_t n, int64_t plane, const Body& body) {
  const int64_t blocks = (plane + kBlock - 1) / kBlock;
  at::parallel_for(0, n * blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; task++) {
      const int64_t p0 = (task % blocks) * kBlock;
      body(task / blocks, p0, std::min(kBlock, plane - p0));
    }
  });
}

// Walks the channels with a running sum of value(j, i) over the window [c - before, c + after]
// and hands each channel's sums to emit(c, sums).
template <typename Value, typename Emit>
inline void window_walk(int64_t channels, int64_t len, int64_t before, int64_t after, const Value& value, const Emit& emit) {
  double acc[kBlock] = {};
  for (int64_t j = 0; j < std::min(after, channels); j++)
    for (int64_t i = 0; i < len; i++) acc[i] += value(j, i);
  for (int64_t c = 0; c < channels; c++) {
    const int64_t add = c + after, drop = c - before - 1;
    if (add < channels)
      for (int64_t i = 0; i < len; i++) acc[i] += value(add, i);
    if (drop >= 0)
      for (int64_t i = 0; i < len; i++) acc[i] -= value(drop, i);
    emit(c, acc);
  }
}

template <Exponent E, typename scalar_t>
void forward(const scalar_t* x, scalar_t* y, scalar_t* den, int64_t n, int64_t channels, int64_t plane, int64_t size,
             double alpha, double beta, double k) {
  const scalar_t b = static_cast<scalar_t>(beta);
  for_each_block(n, plane, [&](int64_t image, int64_t p0, int64_t len) {
    const int64_t offset = image * channels * plane + p0;
    const scalar_t* xs = x + offset;
    window_walk(channels, len, size / 2, (size - 1) / 2,
                [&](int64_t j, int64_t i) { const double v = xs[j * plane + i]; return v * v; },
                [&](int64_t c, const double* sums) {
                  scalar_t* ys = y + offset + c * plane;
                  scalar_t* ds = den + offset + c * plane;
                  const scalar_t* xc = xs + c * plane;
                  for (int64_t i = 0; i < len; i++) {
                    const scalar_t d = static_cast<scalar_t>(k + alpha / size * sums[i]);
                    ds[i] = d;
                    ys[i] = xc[i] * inverse_power<E>(d, b);
                  }
                });
  });
}

template <Exponent E, typename scalar_t>
void backward(const scalar_t* g, const scalar_t* x, const scalar_t* den, scalar_t* dx, int64_t n, int64_t channels,
              int64_t plane, int64_t size, double alpha, double beta) {
  const scalar_t b = static_cast<scalar_t>(beta);
  const scalar_t coefficient = static_cast<scalar_t>(2 * alpha * beta / size);
  for_each_block(n, plane, [&](int64_t image, int64_t p0, int64_t len) {
    const int64_t offset = image * channels * plane + p0;
    // t = g x d^(-beta-1) for the task's block, and the first term of dx; one scratch per
    // thread, reused by its tasks (every element read is written first).
    thread_local std::vector<scalar_t> t;
    t.resize(channels * kBlock);
    for (int64_t c = 0; c < channels; c++) {
      const int64_t at = offset + c * plane;
      for (int64_t i = 0; i < len; i++) {
        const scalar_t d = den[at + i], scale = inverse_power<E>(d, b);
        t[c * kBlock + i] = g[at + i] * x[at + i] * scale / d;
        dx[at + i] = g[at + i] * scale;
      }
    }
    window_walk(channels, len, (size - 1) / 2, size / 2, [&](int64_t j, int64_t i) { return t[j * kBlock + i]; },
                [&](int64_t c, const double* sums) {
                  const int64_t at = offset + c * plane;
                  for (int64_t i = 0; i < len; i++) dx[at + i] -= coefficient * x[at + i] * static_cast<scalar_t>(sums[i]);
                });
  });
}

// Channels-last (a CPU network's layout, see convolve): a position's channels are contiguous,
// so its window sums are direct sums of shifted rows of a zero-padded scratch (size adds per
// channel, vectorised across channels, in double like the NCHW kernel's running sums), and a
// task is a run of positions. sums[c] = padded[c] + ... + padded[c + width - 1].
MS_CHANNEL_LOOPS void window_sums(const double* __restrict padded, int64_t channels, int64_t width, double* __restrict sums) {
  for (int64_t c = 0; c < channels; c++) sums[c] = 0.0;
  for (int64_t j = 0; j < width; j++)
    for (int64_t c = 0; c < channels; c++) sums[c] += padded[c + j];
}

// Calls body(position, padded scratch, sums scratch) for every position, in parallel; the
// scratch rows are zero outside [before, before + channels) (body writes only inside).
template <typename Body>
void for_each_position(int64_t positions, int64_t channels, int64_t size, int64_t before, const Body& body) {
  at::parallel_for(0, positions, kBlock, [&](int64_t begin, int64_t end) {
    std::vector<double> padded(channels + size, 0.0), sums(channels);
    for (int64_t q = begin; q < end; q++) body(q, padded.data() + before, sums.data());
  });
}

template <Exponent E, typename scalar_t>
void forward_channels_last(const scalar_t* x, scalar_t* y, scalar_t* den, int64_t positions, int64_t channels, int64_t size,
                           double alpha, double beta, double k) {
  const scalar_t b = static_cast<scalar_t>(beta);
  const int64_t before = size / 2;
  for_each_position(positions, channels, size, before, [&](int64_t q, double* squares, double* sums) {
    const int64_t at = q * channels;
    for (int64_t c = 0; c < channels; c++) { const double v = x[at + c]; squares[c] = v * v; }
    window_sums(squares - before, channels, size, sums);
    for (int64_t c = 0; c < channels; c++) {
      const scalar_t d = static_cast<scalar_t>(k + alpha / size * sums[c]);
      den[at + c] = d;
      y[at + c] = x[at + c] * inverse_power<E>(d, b);
    }
  });
}

template <Exponent E, typename scalar_t>
void backward_channels_last(const scalar_t* g, const scalar_t* x, const scalar_t* den, scalar_t* dx, int64_t positions,
                            int64_t channels, int64_t size, double alpha, double beta) {
  const scalar_t b = static_cast<scalar_t>(beta);
  const scalar_t coefficient = static_cast<scalar_t>(2 * alpha * beta / size);
  const int64_t before = (size - 1) / 2;   // the mirrored window
  for_each_position(positions, channels, size, before, [&](int64_t q, double* t, double* sums) {
    const int64_t at = q * channels;
    for (int64_t c = 0; c < channels; c++) {
      const scalar_t d = den[at + c], scale = inverse_power<E>(d, b);
      t[c] = static_cast<scalar_t>(g[at + c] * x[at + c] * scale / d);
      dx[at + c] = g[at + c] * scale;
    }
    window_sums(t - before, channels, size, sums);
    for (int64_t c = 0; c < channels; c++) dx[at + c] -= coefficient * x[at + c] * static_cast<scalar_t>(sums[c]);
  });
}

// Runs kernel<exponent, scalar type> for x's dtype and beta.
template <typename Kernel>
void dispatch(const Tensor& x, double beta, const Kernel& kernel) {
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "local_response_norm", [&] {
    if (beta == 0.5) kernel(std::integral_constant<Exponent, Half>{}, scalar_t{});
    else if (beta == 0.75) kernel(std::integral_constant<Exponent, ThreeQuarters>{}, scalar_t{});
    else kernel(std::integral_constant<Exponent, Other>{}, scalar_t{});
  });
}
}  // namespace lrn

// Channels-last input (and not also plain contiguous: one channel or one position) runs on the
// channels-last kernels and stays channels-last; anything else on the NCHW ones.
bool lrn_channels_last(const Tensor& x) {
  return x.dim() == 4 && !x.is_contiguous() && x.is_contiguous(at::MemoryFormat::ChannelsLast);
}

struct LocalResponseNorm : public torch::autograd::Function<LocalResponseNorm> {
  static Tensor forward(torch::autograd::AutogradContext* ctx, Tensor x, int64_t size, double alpha, double beta, double k) {
    const bool channels_last = lrn_channels_last(x);
    auto input = channels_last ? x : x.contiguous();
    auto y = torch::empty_like(input), denominator = torch::empty_like(input);
    const int64_t n = input.size(0), channels = input.size(1), plane = input.numel() / std::max<int64_t>(1, n * channels);
    lrn::dispatch(input, beta, [&](auto exponent, auto type) {
      using scalar_t = decltype(type);
      constexpr auto E = decltype(exponent)::value;
      if (channels_last)
        lrn::forward_channels_last<E>(input.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), denominator.data_ptr<scalar_t>(),
                                      n * plane, channels, size, alpha, beta, k);
      else
        lrn::forward<E>(input.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), denominator.data_ptr<scalar_t>(), n, channels, plane,
                        size, alpha, beta, k);
    });
    ctx->save_for_backward({input, denominator});
    ctx->saved_data["size"] = size;
    ctx->saved_data["alpha"] = alpha;
    ctx->saved_data["beta"] = beta;
    return y;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& denominator = saved[1];
    const auto size = ctx->saved_data["size"].toInt();
    const auto alpha = ctx->saved_data["alpha"].toDouble(), beta = ctx->saved_data["beta"].toDouble();
    const bool channels_last = lrn_channels_last(x);
    auto g = grads[0].contiguous(channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
    auto dx = torch::empty_like(x);
    const int64_t n = x.size(0), channels = x.size(1), plane = x.numel() / std::max<int64_t>(1, n * channels);
    lrn::dispatch(x, beta, [&](auto exponent, auto type) {
      using scalar_t = decltype(type);
      constexpr auto E = decltype(exponent)::value;
      if (channels_last)
        lrn::backward_channels_last<E>(g.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), denominator.data_ptr<scalar_t>(),
                                       dx.data_ptr<scalar_t>(), n * plane, channels, size, alpha, beta);
      else
        lrn::backward<E>(g.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), denominator.data_ptr<scalar_t>(), dx.data_ptr<scalar_t>(),
                         n, channels, plane, size, alpha, beta);
    });
    return {dx, Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

MS_API int ms_local_response_norm(T x, int64_t size, double alpha, double beta, double k, T* out) {
  BEGIN
  const auto& a = *x;
  if (a.dim() == 4 && a.device().is_cpu()) {
    *out = wrap(LocalResponseNorm::apply(a, size, alpha, beta, k));
  } else {
    namespace F = torch::nn::functional;
    *out = wrap(F::local_response_norm(a, F::LocalResponseNormFuncOptions(size).alpha(alpha).beta(beta).k(k)));
  }
  END
}
// Bilinear resizing and grid sampling of image batches on CPU float32: the transforms every
// render step runs (random scale and rotation, then the upsample to the model's input). With
// libtorch 1.13's kernels the chain took ~12 ms forward and backward at batch 8, 128 px (most of
// it the rotation's backward); with these ~10 ms (docs/performance.md). They compute the same
// sums: the forward with libtorch's source positions, weights and order, the backward of a
// resize as two separable passes and that of a grid sample as each image's scatter, one image
// per task, so an image's values never depend on its batch.
namespace resample {
// Along one axis of a bilinear resize: for each output index its two source indices and
// weights, as libtorch computes them (area_pixel_compute_source_index, linear; the same size
// copies).
struct Taps {
  std::vector<int64_t> first, second;
  std::vector<float> w_first, w_second;
};
Taps taps(int64_t in, int64_t out, bool align_corners) {
  Taps t{std::vector<int64_t>(out), std::vector<int64_t>(out), std::vector<float>(out), std::vector<float>(out)};
  const float scale = align_corners ? (out > 1 ? static_cast<float>(in - 1) / (out - 1) : 0.0f) : static_cast<float>(in) / out;
  for (int64_t o = 0; o < out; o++) {
    if (in == out) { t.first[o] = t.second[o] = o; t.w_first[o] = 1; t.w_second[o] = 0; continue; }
    float real = align_corners ? scale * o : static_cast<float>(scale * (o + 0.5) - 0.5);
    if (!align_corners && real < 0) real = 0;
    const int64_t i0 = static_cast<int64_t>(real);
    t.first[o] = i0;
    t.second[o] = i0 + (i0 < in - 1 ? 1 : 0);
    t.w_second[o] = std::min(std::max(real - i0, 0.0f), 1.0f);
    t.w_first[o] = 1.0f - t.w_second[o];
  }
  return t;
}

// Every (plane, output row) of x resized to y (planes, ho, wo); x is (n, c, h, w) with any strides
// (the render resizes crops, which are views).
void resize_forward(const Tensor& x, float* y, int64_t ho, int64_t wo, bool align_corners) {
  const int64_t c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t sn = x.stride(0), sc = x.stride(1), sh = x.stride(2), sw = x.stride(3);
  const float* data = x.data_ptr<float>();
  const Taps rows = taps(h, ho, align_corners), cols = taps(w, wo, align_corners);
  at::parallel_for(0, x.size(0) * c * ho, 16, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; task++) {
      const int64_t p = task / ho, o = task % ho;
      const float* plane = data + p / c * sn + p % c * sc;
      const float* r0 = plane + rows.first[o] * sh;
      const float* r1 = plane + rows.second[o] * sh;
      float* out = y + task * wo;
      const float a = rows.w_first[o], b = rows.w_second[o];
      for (int64_t j = 0; j < wo; j++) {
        const int64_t c0 = cols.first[j] * sw, c1 = cols.second[j] * sw;
        const float t0 = r0[c0] * cols.w_first[j] + r0[c1] * cols.w_second[j];
        const float t1 = r1[c0] * cols.w_first[j] + r1[c1] * cols.w_second[j];
        out[j] = t0 * a + t1 * b;
      }
    }
  });
}

// The input gradient, plane by plane: each output row's gradient is first spread along its row
// (to input columns), then added to its two input rows.
void resize_backward(const float* g, float* dx, int64_t planes, int64_t h, int64_t w, int64_t ho, int64_t wo, bool align_corners) {
  const Taps rows = taps(h, ho, align_corners), cols = taps(w, wo, align_corners);
  at::parallel_for(0, planes, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> spread(w);
    for (int64_t p = begin; p < end; p++) {
      float* d = dx + p * h * w;
      std::fill(d, d + h * w, 0.0f);
      for (int64_t o = 0; o < ho; o++) {
        const float* go = g + (p * ho + o) * wo;
        std::fill(spread.begin(), spread.end(), 0.0f);
        for (int64_t j = 0; j < wo; j++) {
          spread[cols.first[j]] += cols.w_first[j] * go[j];
          spread[cols.second[j]] += cols.w_second[j] * go[j];
        }
        float* d0 = d + rows.first[o] * w;
        float* d1 = d + rows.second[o] * w;
        const float a = rows.w_first[o], b = rows.w_second[o];
        for (int64_t i = 0; i < w; i++) d0[i] += a * spread[i];
        for (int64_t i = 0; i < w; i++) d1[i] += b * spread[i];
      }
    }
  });
}

// One output row of a bilinear grid sample with zeros outside: for each position its four
// corners (north-west, north-east, south-west, south-east) as offsets in the plane and their
// weights, as libtorch's vectorised kernel computes them (ComputeLocation, ApplyGridSample). A
// corner outside the plane gets weight 0 and offset 0, so the loops over channels below have no
// branches: its term is an exact zero as in libtorch (images are finite).
struct RowCorners {
  std::vector<int32_t> offset[4];
  std::vector<float> weight[4];
  void compute(const float* grid, int64_t wo, int64_t h, int64_t w, bool align_corners) {
    for (int k = 0; k < 4; k++) { offset[k].resize(wo); weight[k].resize(wo); }
    const float sx = align_corners ? static_cast<float>(w - 1) / 2 : static_cast<float>(w) / 2;
    const float sy = align_corners ? static_cast<float>(h - 1) / 2 : static_cast<float>(h) / 2;
    for (int64_t j = 0; j < wo; j++) {
      // Positions beyond a pixel outside (and NaN) read only zeros: clamped there, the int casts stay defined.
      const float x = std::fmin(std::fmax(align_corners ? (grid[2 * j] + 1) * sx : (grid[2 * j] + 1) * sx - 0.5f, -2.0f), w + 1.0f);
      const float y = std::fmin(std::fmax(align_corners ? (grid[2 * j + 1] + 1) * sy : (grid[2 * j + 1] + 1) * sy - 0.5f, -2.0f), h + 1.0f);
      const float xf = std::floor(x), yf = std::floor(y);
      const float fw = x - xf, fe = 1 - fw, fn = y - yf, fs = 1 - fn;
      const int64_t x_w = static_cast<int64_t>(xf), y_n = static_cast<int64_t>(yf);
      const float weights[4] = {fs * fe, fs * fw, fn * fe, fn * fw};
      for (int k = 0; k < 4; k++) {
        const int64_t yy = y_n + k / 2, xx = x_w + k % 2;
        const bool inside = yy >= 0 && yy < h && xx >= 0 && xx < w;
        offset[k][j] = inside ? static_cast<int32_t>(yy * w + xx) : 0;
        weight[k][j] = inside ? weights[k] : 0.0f;
      }
    }
  }
};

// One channel's output row: four gathers per position (vectorised where AVX2 is: built for it
// and for baseline x86-64, picked at load time).
__attribute__((target_clones("avx2", "default"))) void sample_row(const float* __restrict plane, const RowCorners& k, float* __restrict out, int64_t wo) {
  const int32_t *o0 = k.offset[0].data(), *o1 = k.offset[1].data(), *o2 = k.offset[2].data(), *o3 = k.offset[3].data();
  const float *w0 = k.weight[0].data(), *w1 = k.weight[1].data(), *w2 = k.weight[2].data(), *w3 = k.weight[3].data();
  for (int64_t j = 0; j < wo; j++) out[j] = plane[o0[j]] * w0[j] + plane[o1[j]] * w1[j] + plane[o2[j]] * w2[j] + plane[o3[j]] * w3[j];
}

// x (n, c, h, w), grid (n, ho, wo, 2) -> y (n, c, ho, wo), by (image, output row).
void grid_forward(const float* x, const float* grid, float* y, int64_t n, int64_t c, int64_t h, int64_t w, int64_t ho, int64_t wo,
                  bool align_corners) {
  at::parallel_for(0, n * ho, 8, [&](int64_t begin, int64_t end) {
    RowCorners k;
    for (int64_t task = begin; task < end; task++) {
      const int64_t b = task / ho, o = task % ho;
      k.compute(grid + (b * ho + o) * wo * 2, wo, h, w, align_corners);
      for (int64_t ch = 0; ch < c; ch++) sample_row(x + (b * c + ch) * h * w, k, y + ((b * c + ch) * ho + o) * wo, wo);
    }
  });
}

// The input gradient: each image's scatter is its own task, so no two tasks add to one value.
void grid_backward(const float* g, const float* grid, float* dx, int64_t n, int64_t c, int64_t h, int64_t w, int64_t ho, int64_t wo,
                   bool align_corners) {
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    RowCorners k;
    for (int64_t b = begin; b < end; b++) {
      std::fill(dx + b * c * h * w, dx + (b + 1) * c * h * w, 0.0f);
      for (int64_t o = 0; o < ho; o++) {
        k.compute(grid + (b * ho + o) * wo * 2, wo, h, w, align_corners);
        for (int64_t ch = 0; ch < c; ch++) {
          float* plane = dx + (b * c + ch) * h * w;
          const float* go = g + ((b * c + ch) * ho + o) * wo;
          for (int64_t j = 0; j < wo; j++)
            for (int q = 0; q < 4; q++) plane[k.offset[q][j]] += k.weight[q][j] * go[j];
        }
      }
    }
  });
}

// The inputs these kernels take: CPU float32 images (others go to libtorch).
bool image(const Tensor& x) { return x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && x.dim() == 4; }
}  // namespace resample

struct BilinearResize : public torch::autograd::Function<BilinearResize> {
  static Tensor forward(torch::autograd::AutogradContext* ctx, Tensor x, int64_t ho, int64_t wo, bool align_corners) {
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    auto y = torch::empty({n, c, ho, wo}, x.options().memory_format(at::MemoryFormat::Contiguous));
    resample::resize_forward(x, y.data_ptr<float>(), ho, wo, align_corners);
    ctx->saved_data["shape"] = std::vector<int64_t>{n, c, h, w};
    ctx->saved_data["align_corners"] = align_corners;
    return y;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    const auto s = ctx->saved_data["shape"].toIntVector();
    auto g = grads[0].contiguous();
    auto dx = torch::empty({s[0], s[1], s[2], s[3]}, g.options());
    resample::resize_backward(g.data_ptr<float>(), dx.data_ptr<float>(), s[0] * s[1], s[2], s[3], g.size(2), g.size(3),
                              ctx->saved_data["align_corners"].toBool());
    return {dx, Tensor(), Tensor(), Tensor()};
  }
};

// Grid sampling whose grid needs no gradient (the render's rotation: a fixed affine grid).
struct BilinearGridSample : public torch::autograd::Function<BilinearGridSample> {
  static Tensor forward(torch::autograd::AutogradContext* ctx, Tensor x, Tensor grid, bool align_corners) {
    const int64_t n = x.size(0), c = x.size(1), ho = grid.size(1), wo = grid.size(2);
    auto y = torch::empty({n, c, ho, wo}, x.options());
    resample::grid_forward(x.data_ptr<float>(), grid.data_ptr<float>(), y.data_ptr<float>(), n, c, x.size(2), x.size(3), ho, wo,
                           align_corners);
    ctx->save_for_backward({grid});
    ctx->saved_data["shape"] = std::vector<int64_t>{n, c, x.size(2), x.size(3)};
    ctx->saved_data["align_corners"] = align_corners;
    return y;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    const auto grid = ctx->get_saved_variables()[0];
    const auto s = ctx->saved_data["shape"].toIntVector();
    auto g = grads[0].contiguous();
    auto dx = torch::empty({s[0], s[1], s[2], s[3]}, g.options());
    resample::grid_backward(g.data_ptr<float>(), grid.data_ptr<float>(), dx.data_ptr<float>(), s[0], s[1], s[2], s[3], grid.size(1),
                            grid.size(2), ctx->saved_data["align_corners"].toBool());
    return {dx, Tensor(), Tensor()};
  }
};

MS_API int ms_pad_constant(T x, const int64_t* pads, int n, double value, T* out) { BEGIN *out = wrap(torch::constant_pad_nd(*x, vec(pads, n), value)); END }
MS_API int ms_upsample_nearest2d(T x, int64_t h, int64_t w, T* out) {
  BEGIN *out = wrap(torch::upsample_nearest2d(*x, {h, w}, c10::nullopt, c10::nullopt)); END
}
MS_API int ms_upsample_bilinear2d(T x, int64_t h, int64_t w, int align_corners, T* out) {
  BEGIN
  if (resample::image(*x)) *out = wrap(BilinearResize::apply(*x, h, w, align_corners != 0));
  else *out = wrap(torch::upsample_bilinear2d(*x, {h, w}, align_corners != 0, c10::nullopt, c10::nullopt));
  END
}
MS_API int ms_affine_grid(T theta, const int64_t* size, int n, int align_corners, T* out) {
  BEGIN *out = wrap(torch::affine_grid_generator(*theta, vec(size, n), align_corners != 0)); END
}
// mode: 0 bilinear, 1 nearest; padding: 0 zeros, 1 border, 2 reflection (libtorch's codes).
MS_API int ms_grid_sample(T x, T grid, int mode, int padding, int align_corners, T* out) {
  BEGIN
  const auto& g = *grid;
  if (mode == 0 && padding == 0 && resample::image(*x) && x->is_contiguous() && !g.requires_grad() && g.scalar_type() == torch::kFloat32 &&
      g.is_contiguous() && g.dim() == 4 && g.size(0) == x->size(0) && g.size(3) == 2)
    *out = wrap(BilinearGridSample::apply(*x, g, align_corners != 0));
  else
    *out = wrap(torch::grid_sampler(*x, g, mode, padding, align_corners != 0));
  END
}
MS_API int ms_softmax(T x, int64_t dim, T* out) { BEGIN *out = wrap(torch::softmax(*x, dim)); END }
MS_API int ms_log_softmax(T x, int64_t dim, T* out) { BEGIN *out = wrap(torch::log_softmax(*x, dim)); END }
MS_API int ms_cross_entropy(T logits, T target, T* out) { BEGIN *out = wrap(torch::nll_loss(torch::log_softmax(*logits, 1), *target)); END }

// Inverse real 2-D FFT of a spectrum stored as real pairs (..., H, W/2+1, 2), orthonormal,
// giving (..., h, w): the Fourier image parameterisation.
MS_API int ms_irfft2(T spectrum, int64_t h, int64_t w, T* out) {
  BEGIN
  auto c = torch::view_as_complex(spectrum->contiguous());
  *out = wrap(torch::fft::irfftn(c, std::vector<int64_t>{h, w}, std::vector<int64_t>{-2, -1}, "ortho"));
  END
}

// ---- optimisers -----------------------------------------------------------------

std::atomic<int64_t> g_live_optimizers{0};
MS_API int64_t ms_live_optimizers() { return g_live_optimizers.load(); }

MS_API int ms_adam_new(T* params, int n, double lr, double beta1, double beta2, double eps, double weight_decay, void** out) {
  BEGIN
  std::vector<Tensor> ps;
  for (int i = 0; i < n; i++) ps.push_back(*params[i]);
  *out = new torch::optim::Adam(ps, torch::optim::AdamOptions(lr).betas({beta1, beta2}).eps(eps).weight_decay(weight_decay));
  g_live_optimizers++;
  END
}
MS_API int ms_optim_step(void* opt) { BEGIN static_cast<torch::optim::Optimizer*>(opt)->step(); END }
MS_API int ms_optim_zero_grad(void* opt) { BEGIN static_cast<torch::optim::Optimizer*>(opt)->zero_grad(); END }
MS_API void ms_optim_free(void* opt) {
  if (!opt) return;
  delete static_cast<torch::optim::Optimizer*>(opt);
  g_live_optimizers--;
}
